using System.Text.Json;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.Bybit;

/// <summary>
/// Bybit's error envelopes. Both spellings exist (<c>retCode</c>/<c>retMsg</c> and <c>ret_code</c>/<c>ret_msg</c>,
/// provider-contracts.md §1 "Errors"), on token and resource endpoints alike; the JSON code is authoritative,
/// HTTP statuses on error are UNCONFIRMED.
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

    /// <summary>Maps a non-zero Bybit code to what the broker must do, for a call on the token endpoint or a resource.</summary>
    public static ProviderFailure ToFailure(long code, bool tokenEndpoint)
    {
        var text = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return code switch
        {
            ExpiredOrUsed when tokenEndpoint => new(ProviderFailureKind.InvalidGrant, text,
                "Bybit says the authorization code has expired or was already used (10001)."),
            ExpiredOrUsed => new(ProviderFailureKind.TokenRejected, text,
                "Bybit refused the access token (10001)."),
            InvalidClientId => new(ProviderFailureKind.InvalidClient, text,
                "Bybit rejected the broker's client id (10003): check Providers:Bybit:ClientId."),
            InvalidRefreshToken => new(ProviderFailureKind.InvalidGrant, text,
                "Bybit says the refresh token is invalid or expired (10004)."),
            AccessTokenExpired => new(ProviderFailureKind.TokenRejected, text,
                "Bybit says the access token has expired (33004)."),
            No2Fa => new(ProviderFailureKind.AccountNotEligible, text,
                "The Bybit account has no two-factor authentication, which Bybit requires for OAuth (20039)."),
            _ => new(ProviderFailureKind.Rejected, text, $"Bybit refused the request with code {text}."),
        };
    }
}
