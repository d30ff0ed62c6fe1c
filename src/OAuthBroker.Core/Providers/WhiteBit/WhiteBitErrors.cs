using System.Text.Json;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// WhiteBIT's error shapes (openapi/oauth2.yaml): 401 <c>{"data":{"message":[…]}}</c> and 422
/// <c>{"errors":{field:[…]},"notification":null}</c> on /oauth2/token, 400 <c>{"data":{"token":[…]}}</c> on refresh,
/// and 401/403/404/409/423 on the API-key endpoints.
/// </summary>
internal static class WhiteBitErrors
{
    public static ProviderFailure TokenEndpoint(int status, JsonElement? body, TimeSpan? retryAfter, bool refresh)
    {
        if (status == 422 && body?.ValueKind == JsonValueKind.Object && body.Value.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
        {
            var fields = errors.EnumerateObject().Select(f => f.Name).ToArray();
            return fields.Any(f => f is "client_id" or "client_secret")
                ? new ProviderFailure(ProviderFailureKind.InvalidClient, "422", $"WhiteBIT says required client fields are missing or invalid ({string.Join(", ", fields.Where(f => f.Length < 32))}).")
                : new ProviderFailure(ProviderFailureKind.InvalidGrant, "422", $"WhiteBIT refused the request's fields ({string.Join(", ", fields.Where(f => f.Length < 32))}).");
        }

        return status switch
        {
            // Note: "Invalid request" on 401 covers a bad or used code as well as bad client credentials or an IP not on
            // WhiteBIT's allowlist; a single failing user points at the code, every user failing at the configuration.
            401 when !refresh => new ProviderFailure(ProviderFailureKind.InvalidGrant, "401", "WhiteBIT refused the code exchange (401 Invalid request): the code is invalid or used, or the client credentials or server IP are not accepted."),
            // The refresh endpoint documents 400 for a bad token; a 401 there is about the client (credentials, IP allowlist).
            401 => new ProviderFailure(ProviderFailureKind.InvalidClient, "401", "WhiteBIT refused the refresh (401): check the client credentials and that the broker's IP is on WhiteBIT's allowlist."),
            400 => new ProviderFailure(ProviderFailureKind.InvalidGrant, "400", "WhiteBIT says the refresh token is invalid or expired (400); the user must connect again."),
            // "Rate limit: 1 request per second" on refresh: without a Retry-After, one second is what WhiteBIT documents.
            429 => new ProviderFailure(ProviderFailureKind.RateLimited, "429", "WhiteBIT rate-limited the request.", retryAfter ?? (refresh ? WhiteBitDefaults.RefreshSpacing : null)),
            >= 500 => new ProviderFailure(ProviderFailureKind.Unavailable, $"http_{status}", $"WhiteBIT failed the request (HTTP {status}).", retryAfter),
            _ => new ProviderFailure(ProviderFailureKind.Rejected, $"http_{status}", $"WhiteBIT refused the request (HTTP {status})."),
        };
    }
}
