using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>Settings of a BuiltByBit provider (section <c>Providers:{id}</c>, dialect <c>builtbybit</c>).</summary>
public sealed class BuiltByBitOptions : ProviderOptions
{
    /// <summary>Authorize URL. Default <c>https://builtbybit.com/account/external/authorize</c>.</summary>
    public string AuthorizeUrl { get; set; } = BuiltByBitDefaults.AuthorizeUrl;

    /// <summary>API base (token, revoke, members). Default <c>https://api.builtbybit.com</c>.</summary>
    public string ApiBaseUrl { get; set; } = BuiltByBitDefaults.ApiBaseUrl;

    /// <summary>Scopes to request; at least one (BuiltByBit refuses none). Default <c>members.self</c>.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Separator between scopes (space or comma is UNCONFIRMED). Default a space.</summary>
    public string ScopeSeparator { get; set; } = " ";

    /// <summary>PKCE is not documented and one integration turns it off. Default false.</summary>
    public bool Pkce { get; set; }

    /// <summary>
    /// Send <c>redirect_uri</c> on the code exchange (RFC 6749 §4.1.3 requires it when it was on the authorize leg;
    /// BuiltByBit's spec does not list it, UNCONFIRMED). Default true.
    /// </summary>
    public bool SendRedirectUriOnExchange { get; set; } = true;

    /// <summary>
    /// How the HTTP Basic header is built. BuiltByBit's spec and wiki say only "HTTP Basic Authentication using your
    /// token's client credentials" and show a pre-encoded header on the token's Details page. Default
    /// <c>ClientSecretBasicRaw</c>: <c>base64(id:secret)</c> as sent (a third-party integration reports the RFC 6749 §2.3.1
    /// form-encoded variant refused for secrets containing '/'); <c>ClientSecretBasic</c> is the RFC reading. Compare with
    /// the header on the Details page to pick.
    /// </summary>
    public ClientAuthenticationMethod ClientAuthentication { get; set; } = ClientAuthenticationMethod.ClientSecretBasicRaw;

    /// <summary>Longest wait inside one request when BuiltByBit answers 429. Default 2 s; longer waits are reported instead.</summary>
    public TimeSpan MaxInlineRetryWait { get; set; } = TimeSpan.FromSeconds(2);

    public IReadOnlyList<string> EffectiveScopes => Scopes.Count > 0 ? Scopes : [BuiltByBitDefaults.DefaultScope];

    public override IEnumerable<string> Validate(string prefix) => base.Validate(prefix)
        .Concat(ValidateEndpoint(prefix, nameof(AuthorizeUrl), AuthorizeUrl, required: true))
        .Concat(ValidateEndpoint(prefix, nameof(ApiBaseUrl), ApiBaseUrl, required: true))
        .Concat(EffectiveScopes.Any(string.IsNullOrWhiteSpace) ? [$"{prefix}:Scopes must not contain empty entries."] : [])
        .Concat(ClientAuthentication == ClientAuthenticationMethod.ClientSecretPost ? [$"{prefix}:ClientAuthentication must be ClientSecretBasicRaw or ClientSecretBasic (BuiltByBit requires HTTP Basic)."] : []);
}
