namespace OAuthBroker.Providers.Bybit;

/// <summary>Settings of a Bybit provider (section <c>Providers:{id}</c>, dialect <c>bybit</c>).</summary>
public sealed class BybitOptions : ProviderOptions
{
    /// <summary><see cref="BybitEnvironment.Mainnet"/> (default) or <see cref="BybitEnvironment.Testnet"/>.</summary>
    public BybitEnvironment Environment { get; set; } = BybitEnvironment.Mainnet;

    /// <summary>Overrides the authorize URL of <see cref="Environment"/> (the sandbox uses this).</summary>
    public string? AuthorizeUrl { get; set; }

    /// <summary>Overrides the API base URL of <see cref="Environment"/> (the sandbox uses this).</summary>
    public string? ApiBaseUrl { get; set; }

    /// <summary>Requested scope. Default <c>openapi</c>; other values need Bybit's approval.</summary>
    public string Scope { get; set; } = BybitDefaults.DefaultScope;

    /// <summary>Where the account UID comes from. Default <c>UidEndpoint</c>: the documented uid_bearer endpoint, cross-checked with the token's claim.</summary>
    public BybitAccountIdSource AccountIdSource { get; set; } = BybitAccountIdSource.UidEndpoint;

    /// <summary>
    /// Whether refresh sends client_secret: documented only for Bybit's public client, which sends none (modules/oauth.md);
    /// undocumented for brokers. Default <c>Send</c> (a confidential client authenticates, RFC 6749 §6); <c>Omit</c> for
    /// the public client's reading. One reading per deployment: a refresh token is never sent twice to find out, and a
    /// 10003 answer opens the provider's breaker for the operator to switch.
    /// </summary>
    public BybitRefreshSecret RefreshClientSecret { get; set; } = BybitRefreshSecret.Send;

    /// <summary>User-Agent for the token call. Default: a desktop browser's, as Bybit's docs show.</summary>
    public string UserAgent { get; set; } = BybitDefaults.BrowserUserAgent;

    public Uri ResolvedAuthorizeUrl => new(AuthorizeUrl ?? (Environment == BybitEnvironment.Testnet
        ? BybitDefaults.TestnetAuthorizeUrl : BybitDefaults.MainnetAuthorizeUrl));

    public Uri ResolvedApiBaseUrl => new(ApiBaseUrl ?? (Environment == BybitEnvironment.Testnet
        ? BybitDefaults.TestnetApiBaseUrl : BybitDefaults.MainnetApiBaseUrl));

    public override IEnumerable<string> Validate(string prefix) => base.Validate(prefix)
        .Concat(ValidateEndpoint(prefix, nameof(AuthorizeUrl), AuthorizeUrl))
        .Concat(ValidateEndpoint(prefix, nameof(ApiBaseUrl), ApiBaseUrl))
        .Concat(string.IsNullOrWhiteSpace(Scope) ? [$"{prefix}:Scope must not be empty."] : []);
}

public enum BybitRefreshSecret
{
    Send,
    Omit,
}

public enum BybitEnvironment
{
    Mainnet,
    Testnet,
}

/// <summary>
/// Where the UID comes from. The help centre's phase 5 documents <c>uid_bearer</c> (its answer's field name is not
/// documented); the broker guidance's sample access token carries it as <c>GrantMemberID</c>, a claim of an HS256 token
/// the broker cannot verify and Bybit does not document.
/// </summary>
public enum BybitAccountIdSource
{
    /// <summary>The claim when present, else the endpoint (the former default).</summary>
    TokenClaimThenUidEndpoint,
    /// <summary>The claim only.</summary>
    TokenClaim,
    /// <summary>
    /// The endpoint, which must agree with the claim when the token has one. When the endpoint answers success but in a
    /// shape without a recognisable UID (the field name is undocumented), the claim is used.
    /// </summary>
    UidEndpoint,
}
