namespace OAuthBroker.Providers.Bybit;

/// <summary>
/// Bybit API Broker OAuth endpoints and names, as documented in the broker guidance
/// (https://bybit-exchange.github.io/docs/v5/broker/api-broker/guidance), the help centre article "How to Integrate With
/// the OAuth System as a Broker on Bybit" (phases 1–5) and Bybit's own OAuth client (bybit-exchange/skills modules/oauth.js).
/// </summary>
public static class BybitDefaults
{
    public const string ProviderId = "bybit";
    public const string DisplayName = "Bybit";

    /// <summary>Authorize, mainnet. The guidance uses the <c>/en/</c> locale segment; Bybit's own tool omits it.</summary>
    public const string MainnetAuthorizeUrl = "https://www.bybit.com/en/oauth";

    /// <summary>Authorize, testnet (Bybit's own client, modules/oauth.js HOSTS.testnet).</summary>
    public const string TestnetAuthorizeUrl = "https://testnet.bybit.com/oauth";

    public const string MainnetApiBaseUrl = "https://api2.bybit.com";
    public const string TestnetApiBaseUrl = "https://api2-testnet.bybit.com";

    /// <summary>Code → token (help centre phase 4; the guidance). Form-encoded client_id, client_secret, code; flat JSON answer.</summary>
    public const string AccessTokenPath = "/oauth/v1/public/access_token";

    /// <summary>Refresh: documented only for Bybit's public PKCE client (modules/oauth.md); brokers use the same endpoint.</summary>
    public const string RefreshTokenPath = "/oauth/v1/public/refresh_token";

    /// <summary>The user's OpenAPI key (the guidance; help centre phase 5) and secret, wrapped in <c>ret_code</c>/<c>result</c>.</summary>
    public const string OpenApiKeyPath = "/oauth/v1/resource/restrict/openapi";

    /// <summary>
    /// The UID of the authorizing user: help centre phase 5, "Requesting Bybit UID: URL: /oauth/v1/resource/restrict/uid_bearer,
    /// METHOD: GET, Authorization: Bearer &lt;access_token&gt;, Expected Response: JSON with ret_code = 0 and ret_msg = "success"".
    /// The documented way; only the name of the field carrying the UID is undocumented.
    /// </summary>
    public const string UidPath = "/oauth/v1/resource/restrict/uid_bearer";

    /// <summary>The only scope brokers get without Bybit's approval.</summary>
    public const string DefaultScope = "openapi";

    /// <summary>The access-token claim that carries the UID in the broker guidance's sample token (not documented as such).</summary>
    public const string UidClaim = "GrantMemberID";

    /// <summary>
    /// The docs send a desktop-Chrome User-Agent on the token call and an earlier revision said "use browser
    /// agent"; enforcement is UNCONFIRMED, so the broker always looks like a browser there.
    /// </summary>
    public const string BrowserUserAgent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
}
