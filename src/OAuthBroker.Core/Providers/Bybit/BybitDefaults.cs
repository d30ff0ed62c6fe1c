namespace OAuthBroker.Providers.Bybit;

/// <summary>
/// Bybit API Broker OAuth endpoints and names, as documented in
/// https://bybit-exchange.github.io/docs/v5/broker/api-broker/guidance (provider-contracts.md §1, B1–B6).
/// </summary>
public static class BybitDefaults
{
    public const string ProviderId = "bybit";
    public const string DisplayName = "Bybit";

    /// <summary>B1, mainnet. The docs use the <c>/en/</c> locale segment; Bybit's own tool omits it.</summary>
    public const string MainnetAuthorizeUrl = "https://www.bybit.com/en/oauth";

    /// <summary>B1, testnet (Bybit's own tool, S4).</summary>
    public const string TestnetAuthorizeUrl = "https://testnet.bybit.com/oauth";

    public const string MainnetApiBaseUrl = "https://api2.bybit.com";
    public const string TestnetApiBaseUrl = "https://api2-testnet.bybit.com";

    /// <summary>B3: code → token. Form-encoded client_id, client_secret, code; flat JSON answer.</summary>
    public const string AccessTokenPath = "/oauth/v1/public/access_token";

    /// <summary>B6: documented only for Bybit's public PKCE client; used by the refresh issue.</summary>
    public const string RefreshTokenPath = "/oauth/v1/public/refresh_token";

    /// <summary>B4: the user's OpenAPI key and secret, wrapped in <c>ret_code</c>/<c>result</c>.</summary>
    public const string OpenApiKeyPath = "/oauth/v1/resource/restrict/openapi";

    /// <summary>B5: UID of the authorizing user. UNCONFIRMED in Bybit's docs; the JWT claim is the primary source.</summary>
    public const string UidPath = "/oauth/v1/resource/restrict/uid_bearer";

    /// <summary>The only scope brokers get without Bybit's approval.</summary>
    public const string DefaultScope = "openapi";

    /// <summary>The access-token claim that carries the user's UID (confirmed from the docs' sample token).</summary>
    public const string UidClaim = "GrantMemberID";

    /// <summary>
    /// The docs send a desktop-Chrome User-Agent on the token call and an earlier revision said "use browser
    /// agent"; enforcement is UNCONFIRMED, so the broker always looks like a browser there.
    /// </summary>
    public const string BrowserUserAgent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
}
