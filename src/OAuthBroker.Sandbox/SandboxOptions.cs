namespace OAuthBroker.Sandbox;

/// <summary>Sandbox settings (section <c>Sandbox</c>).</summary>
public sealed class SandboxOptions
{
    public const string SectionName = "Sandbox";

    public BybitSandboxOptions Bybit { get; set; } = new();

    public BuiltByBitSandboxOptions BuiltByBit { get; set; } = new();

    public OidcSandboxOptions Oidc { get; set; } = new();

    public WhiteBitSandboxOptions WhiteBit { get; set; } = new();
}

/// <summary>
/// How the WhiteBIT sandbox behaves (provider-contracts.md §2). A flow started with a PKCE challenge is the Fast API
/// Key flow (4-hour token, no refresh, a user API key); one without is the classic flow (300 s / 600 s, rotation).
/// </summary>
public sealed class WhiteBitSandboxOptions
{
    public List<SandboxClient> Clients { get; set; } = [];

    /// <summary>Fast API Key: the key shows up in <c>/api-key/info</c> from this poll on (1 = the first poll). Default 2.</summary>
    public int KeyReadyAfterPolls { get; set; } = 2;

    public TimeSpan FastAccessTokenLifetime { get; set; } = TimeSpan.FromHours(4);
    public TimeSpan ClassicAccessTokenLifetime { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>Fast API Key responses carry <c>"refresh_token": null</c> instead of leaving it out (which one is UNCONFIRMED).</summary>
    public bool FastRefreshTokenAsNull { get; set; }
}

/// <summary>Standards-conformant OAuth 2.0 / OpenID Connect servers, one per tenant (issuer <c>{origin}/oidc/{tenant}</c>).</summary>
public sealed class OidcSandboxOptions
{
    public Dictionary<string, OidcTenant> Tenants { get; set; } = new(StringComparer.Ordinal);

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);
}

public sealed class OidcTenant
{
    public List<SandboxClient> Clients { get; set; } = [];

    /// <summary>Send RFC 9207 <c>iss</c> on authorization responses and advertise it. Default true.</summary>
    public bool IssParameter { get; set; } = true;
}

/// <summary>How the BuiltByBit sandbox behaves. Defaults follow provider-contracts.md §3.</summary>
public sealed class BuiltByBitSandboxOptions
{
    public List<SandboxClient> Clients { get; set; } = [];

    /// <summary>Only <c>expires_in</c> is documented; 1 hour here.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Token-endpoint errors as the API envelope (default) or RFC 6749 bodies; which one BuiltByBit uses is UNCONFIRMED.</summary>
    public ErrorShape TokenErrorShape { get; set; } = ErrorShape.Envelope;

    /// <summary>Send <c>user_id</c> as a JSON number instead of the spec's string (the real type is UNCONFIRMED).</summary>
    public bool UserIdAsNumber { get; set; }
}

public enum ErrorShape
{
    Envelope,
    Rfc6749,
}

/// <summary>How the Bybit sandbox behaves. Defaults follow provider-contracts.md §1.</summary>
public sealed class BybitSandboxOptions
{
    public List<SandboxClient> Clients { get; set; } = [];

    /// <summary>24 h, as documented.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>30 days, as documented.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>10 minutes (Bybit's own tool).</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The current docs say 301, the help center 302; both are served (default 301).</summary>
    public int CallbackStatus { get; set; } = 301;

    /// <summary>
    /// Refuse token calls whose User-Agent is not a browser's (the docs send one). What Bybit really does is
    /// UNCONFIRMED; the sandbox answers like a front-end firewall would: 403 with an HTML body.
    /// </summary>
    public bool RequireBrowserUserAgent { get; set; } = true;

    /// <summary>Whether refresh needs client_secret (UNCONFIRMED for broker clients): Optional, Required or Forbidden.</summary>
    public SecretOnRefresh RefreshClientSecret { get; set; } = SecretOnRefresh.Optional;

    /// <summary>uid_bearer's shape is UNCONFIRMED: <c>Envelope</c> (<c>result.uid</c>) or <c>TopLevel</c> (<c>uid</c>).</summary>
    public UidShape UidResponseShape { get; set; } = UidShape.Envelope;

    /// <summary>Leave the GrantMemberID claim out of tokens, so the broker must use uid_bearer.</summary>
    public bool OmitUidClaim { get; set; }
}

public sealed class SandboxClient
{
    public string ClientId { get; set; } = "";
    public string ClientSecret { get; set; } = "";
    /// <summary>Registered callback URLs; Bybit falls back to the first when the requested one matches none.</summary>
    public List<string> RedirectUris { get; set; } = [];
}

public enum SecretOnRefresh
{
    Optional,
    Required,
    Forbidden,
}

public enum UidShape
{
    Envelope,
    TopLevel,
}
