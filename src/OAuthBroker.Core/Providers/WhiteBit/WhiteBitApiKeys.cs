using System.Text.Json;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// The three Bearer-authenticated API-key endpoints (openapi/oauth2.yaml, tag "OAuth API Keys"; global server only):
/// <c>GET /oauth2/api-key/info</c>, <c>GET /oauth2/api-key/{externalId}/secret</c> (once; 409 afterwards, 423 while
/// locked) and <c>DELETE /oauth2/api-key/{externalId}</c>. Each answer comes back as its status plus what it carried.
/// </summary>
internal sealed class WhiteBitApiKeys(string providerId, Uri server, ProviderHttpClient http)
{
    /// <param name="Status">The HTTP status, or 0 when the call failed before an answer (see <paramref name="Failure"/>).</param>
    public sealed record Answer(int Status, ProviderFailure? Failure, KeyInfo? Info = null, string? Secret = null, TimeSpan? RetryAfter = null);

    /// <summary><c>/info</c>: "(exists, isEnabled)" and the key's externalId (null when none).</summary>
    public sealed record KeyInfo(bool Exists, bool Enabled, string? ExternalId);

    public async Task<Answer> InfoAsync(string accessToken, CT ct)
    {
        using var request = Bearer(HttpMethod.Get, WhiteBitDefaults.ApiKeyInfoPath, accessToken);
        return await SendAsync(request, "api-key info", root =>
        {
            var data = root.ObjectProperty("data");
            var exists = data?.TryGetProperty("exists", out var e) == true && e.ValueKind == JsonValueKind.True;
            var enabled = data?.TryGetProperty("isEnabled", out var en) == true && en.ValueKind == JsonValueKind.True;
            return new Answer(200, null, Info: new KeyInfo(exists, enabled, data?.StringProperty("externalId") is { Length: > 0 } id ? id : null));
        }, ct);
    }

    public async Task<Answer> SecretAsync(string accessToken, string externalId, CT ct)
    {
        using var request = Bearer(HttpMethod.Get, WhiteBitDefaults.ApiKeySecretPath(externalId), accessToken);
        return await SendAsync(request, "api-key secret", root =>
            root.ObjectProperty("data")?.StringProperty("apiSecret") is { Length: > 0 } secret
                ? new Answer(200, null, Secret: secret)
                : new Answer(200, new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_secret", "WhiteBIT's secret response has no data.apiSecret.")), ct);
    }

    public async Task<Answer> DeleteAsync(string accessToken, string externalId, CT ct)
    {
        using var request = Bearer(HttpMethod.Delete, WhiteBitDefaults.ApiKeyPath(externalId), accessToken);
        return await SendAsync(request, "api-key delete", _ => new Answer(200, null), ct);
    }

    /// <summary>The documented failure of an API-key answer other than 2xx, 409 and 423 (which callers handle).</summary>
    public static ProviderFailure Failure(Answer answer, string operation) => answer.Failure ?? answer.Status switch
    {
        401 => new ProviderFailure(ProviderFailureKind.TokenRejected, "401", "WhiteBIT refused the access token on the API-key endpoints (missing apikeys.* scope or expired token)."),
        403 => new ProviderFailure(ProviderFailureKind.Rejected, "403", "WhiteBIT says the key belongs to another client, was not issued to a partner, or the token lacks the scope."),
        404 => new ProviderFailure(ProviderFailureKind.Rejected, "404", "WhiteBIT says the key was not found (deleted, or not this user's)."),
        429 => new ProviderFailure(ProviderFailureKind.RateLimited, "http_429", $"WhiteBIT rate-limited the {operation} request.", answer.RetryAfter),
        >= 500 => new ProviderFailure(ProviderFailureKind.Unavailable, $"http_{answer.Status}", $"WhiteBIT failed the {operation} request (HTTP {answer.Status}).", answer.RetryAfter),
        _ => new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{answer.Status}", $"WhiteBIT answered the {operation} request unexpectedly (HTTP {answer.Status})."),
    };

    private async Task<Answer> SendAsync(HttpRequestMessage request, string operation, Func<JsonElement, Answer> read, CT ct)
    {
        var sent = await http.SendAsync(providerId, operation, request, ct);
        if (!sent.Succeeded)
        {
            return new Answer(0, sent.Failure);
        }

        using var response = sent.Value;
        var status = (int)response.Status;
        if (status is >= 200 and < 300)
        {
            return response.Json is { } json ? read(json.RootElement) with { Status = status }
                : new Answer(status, new ProviderFailure(ProviderFailureKind.InvalidResponse, $"non_json_{status}", $"WhiteBIT answered the {operation} request with something that is not JSON."));
        }

        return new Answer(status, null, RetryAfter: response.RetryAfter);
    }

    private HttpRequestMessage Bearer(HttpMethod method, string path, string accessToken)
    {
        var request = new HttpRequestMessage(method, Endpoint.Combine(server, path));
        request.Headers.Authorization = new("Bearer", accessToken);
        request.Headers.Accept.ParseAdd("application/json");
        return request;
    }
}
