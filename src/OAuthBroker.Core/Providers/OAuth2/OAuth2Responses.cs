using System.Text.Json;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.OAuth2;

/// <summary>Reading RFC 6749 token responses (§5.1) and errors (§5.2), shared by the dialects that use them.</summary>
public static class OAuth2Responses
{
    /// <summary>A §5.1 success body (flat), or null when it has no access_token.</summary>
    public static ProviderCredential? ReadCredential(JsonElement body, DateTimeOffset now)
    {
        var accessToken = body.StringProperty("access_token");
        if (string.IsNullOrEmpty(accessToken))
        {
            return null;
        }

        var refreshToken = body.StringProperty("refresh_token");
        var expiresIn = body.SecondsProperty("expires_in");
        var refreshExpiresIn = body.SecondsProperty("refresh_token_expires_in") ?? body.SecondsProperty("refresh_expires_in");
        return new ProviderCredential
        {
            AccessToken = accessToken,
            RefreshToken = string.IsNullOrEmpty(refreshToken) ? null : refreshToken,
            // RFC 6749 §5.1: the type is case-insensitive; only bearer tokens are used by the broker.
            TokenType = "Bearer",
            // Clamped (ProviderNumbers): no lifetime a provider sends can throw here, least of all after a rotation.
            AccessTokenExpiresAt = ProviderNumbers.ExpiryAfter(expiresIn, now),
            RefreshTokenExpiresAt = string.IsNullOrEmpty(refreshToken) ? null : ProviderNumbers.ExpiryAfter(refreshExpiresIn, now),
        };
    }

    /// <summary>Scopes granted, split on the provider's separator(s).</summary>
    public static IReadOnlyList<string> Scopes(JsonElement body, IReadOnlyList<string> requested, params char[] separators) =>
        body.StringProperty("scope") is { Length: > 0 } scope
            ? scope.Split(separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : requested;

    /// <summary>A §5.2 error body mapped to what the broker must do; null when the body carries no <c>error</c>.</summary>
    public static ProviderFailure? ReadError(JsonElement body, string providerName)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        var code = error.GetString()!;
        return FromCode(code, providerName);
    }

    public static ProviderFailure FromCode(string code, string providerName)
    {
        var safe = new string(code.Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.').Take(64).ToArray());
        return safe switch
        {
            "invalid_grant" => new(ProviderFailureKind.InvalidGrant, safe, $"{providerName} says the code or refresh token is invalid, expired or already used (invalid_grant)."),
            "invalid_client" or "unauthorized_client" => new(ProviderFailureKind.InvalidClient, safe, $"{providerName} rejected the broker's client credentials ({safe}): check the provider's ClientId and ClientSecret."),
            "access_denied" => new(ProviderFailureKind.AccessDenied, safe, $"{providerName}: access was denied."),
            "temporarily_unavailable" or "server_error" => new(ProviderFailureKind.Unavailable, safe, $"{providerName} is temporarily unavailable ({safe})."),
            "slow_down" => new(ProviderFailureKind.RateLimited, safe, $"{providerName} asked the broker to slow down."),
            _ => new(ProviderFailureKind.Rejected, safe, $"{providerName} refused the request ({safe})."),
        };
    }
}
