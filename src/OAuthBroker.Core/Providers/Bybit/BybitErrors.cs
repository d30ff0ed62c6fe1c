using System.Text.Json;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.Bybit;

/// <summary>Which Bybit call answered, so a code is read — and worded — for what was sent.</summary>
internal enum BybitCall
{
    CodeExchange,
    Refresh,
    Resource,
}

/// <summary>
/// Bybit's error envelopes. Both spellings exist (<c>retCode</c>/<c>retMsg</c> and <c>ret_code</c>/<c>ret_msg</c>):
/// Bybit's own OAuth client (bybit-exchange/skills modules/oauth.js) reads <c>retCode ?? ret_code</c> on resources and
/// <c>retCode</c> on the token endpoint. The codes are the ones that client and modules/oauth.md document; HTTP
/// statuses on error are undocumented, so the JSON code wins over the status.
/// </summary>
internal static class BybitErrors
{
    public const long ExpiredOrUsed = 10001;
    public const long InvalidClientId = 10003;
    public const long InvalidRefreshToken = 10004;
    public const long AccessTokenExpired = 33004;
    public const long No2Fa = 20039;

    /// <summary>The envelope's code, or null when the body carries none (the flat token response).</summary>
    public static long? CodeOf(JsonElement root) => root.IntegerProperty("retCode") ?? root.IntegerProperty("ret_code");

    /// <summary>Maps a non-zero Bybit code to what the broker must do, worded for the call that got it.</summary>
    public static ProviderFailure ToFailure(long code, BybitCall call)
    {
        var text = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return (code, call) switch
        {
            (ExpiredOrUsed, BybitCall.CodeExchange) => new(ProviderFailureKind.InvalidGrant, text,
                "Bybit says the authorization code has expired or was already used (10001)."),
            // modules/oauth.md: "retCode=10001/10004: refresh_token invalid or expired".
            (ExpiredOrUsed or InvalidRefreshToken, BybitCall.Refresh) => new(ProviderFailureKind.InvalidGrant, text,
                $"Bybit says the refresh token is invalid or expired ({text}); the user must connect again."),
            (ExpiredOrUsed, _) => new(ProviderFailureKind.TokenRejected, text,
                "Bybit refused the access token (10001)."),
            (InvalidClientId, _) => new(ProviderFailureKind.InvalidClient, text,
                "Bybit rejected the broker's client id (10003): check the provider's ClientId and ClientSecret."),
            (InvalidRefreshToken, _) => new(ProviderFailureKind.InvalidGrant, text,
                "Bybit says the refresh token is invalid or expired (10004)."),
            (AccessTokenExpired, _) => new(ProviderFailureKind.TokenRejected, text,
                "Bybit says the access token has expired (33004)."),
            (No2Fa, _) => new(ProviderFailureKind.AccountNotEligible, text,
                "The Bybit account has no two-factor authentication, which Bybit requires for OAuth (20039)."),
            _ => new(ProviderFailureKind.Rejected, text, $"Bybit refused the request with code {text}."),
        };
    }
}
