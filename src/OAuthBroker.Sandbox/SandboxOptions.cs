namespace OAuthBroker.Sandbox;

/// <summary>
/// Sandbox settings (section <c>Sandbox</c>). Every behaviour follows a provider document; where the documents disagree
/// or are silent, the behaviour is a switch here naming each reading, so the tests can run all of them.
/// </summary>
public sealed class SandboxOptions
{
    public const string SectionName = "Sandbox";

    public BybitSandboxOptions Bybit { get; set; } = new();

    public BuiltByBitSandboxOptions BuiltByBit { get; set; } = new();

    public OidcSandboxOptions Oidc { get; set; } = new();

    public WhiteBitSandboxOptions WhiteBit { get; set; } = new();
}

public sealed class SandboxClient
{
    public string ClientId { get; set; } = "";
    public string ClientSecret { get; set; } = "";
    /// <summary>Registered callback URLs; Bybit falls back to the first when the requested one matches none.</summary>
    public List<string> RedirectUris { get; set; } = [];

    /// <summary>
    /// OIDC tenants only: app roles granted to this client as a daemon (application permissions). Entra ID puts them in the
    /// <c>roles</c> claim of the client-credentials token (Learn "Microsoft identity platform and the OAuth 2.0 client
    /// credentials flow").
    /// </summary>
    public List<string> AppRoles { get; set; } = [];

    /// <summary>
    /// WhiteBIT only: the flow the client is registered for (in production the registration decides). Null: decided by
    /// whether the authorize request carries a PKCE challenge — a sandbox convenience for clients configured without it.
    /// </summary>
    public WhiteBitClientFlow? WhiteBitFlow { get; set; }
}

public enum WhiteBitClientFlow
{
    FastApiKey,
    Classic,
}
