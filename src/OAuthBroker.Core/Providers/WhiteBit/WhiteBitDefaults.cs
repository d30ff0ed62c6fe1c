namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// WhiteBIT OAuth 2.0 endpoints (https://docs.whitebit.com/api-reference/oauth/, generated from whitebit-exchange/docs
/// openapi/oauth2.yaml) and the Fast API Key guides (guides/fast-api-key-via-oauth, guides/fast-api-key-integration).
/// </summary>
public static class WhiteBitDefaults
{
    public const string DialectName = "whitebit";
    public const string DisplayName = "WhiteBIT";

    public const string GlobalServer = "https://whitebit.com";
    public const string EuServer = "https://whitebit.eu";

    /// <summary>authorize: <c>clientId</c> (camelCase), <c>state</c>; the Fast API Key flow adds <c>redirect_uri</c> and PKCE S256.</summary>
    public const string AuthorizePath = "/auth/login";

    /// <summary>get-access-token: body <c>client_id</c>, <c>client_secret</c>, <c>code</c> (+ <c>code_verifier</c>), no <c>grant_type</c>; answer in <c>data</c>.</summary>
    public const string TokenPath = "/oauth2/token";

    /// <summary>
    /// Refresh: the refresh token in the field <c>token</c>; a new pair every time; "Rate limit: 1 request per second"
    /// (openapi/oauth2.yaml). The classic flow, and the Fast flow where the newest guide issues a refresh token.
    /// </summary>
    public const string RefreshPath = "/oauth2/refresh_token";

    /// <summary>The refresh endpoint's documented limit: at most one request per second.</summary>
    public static readonly TimeSpan RefreshSpacing = TimeSpan.FromSeconds(1);

    /// <summary>api-key-info: does a key exist, is it enabled, its externalId. Global server only.</summary>
    public const string ApiKeyInfoPath = "/oauth2/api-key/info";

    /// <summary>api-key-secret: the secret, once; a second fetch is 409.</summary>
    public static string ApiKeySecretPath(string externalId) => $"/oauth2/api-key/{Uri.EscapeDataString(externalId)}/secret";

    /// <summary>api-key-delete: delete the key (needs a live access token with apikeys.delete).</summary>
    public static string ApiKeyPath(string externalId) => $"/oauth2/api-key/{Uri.EscapeDataString(externalId)}";

    /// <summary>Metadata key under which the key's externalId is vaulted.</summary>
    public const string ExternalIdMetadata = "externalId";
}
