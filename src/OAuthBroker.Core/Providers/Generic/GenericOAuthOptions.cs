using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.Generic;

/// <summary>
/// A standard OAuth 2.0 (RFC 6749) / OpenID Connect provider described by configuration alone (section
/// <c>Providers:{id}</c>, dialect <c>oauth2</c>): endpoints given here, or discovered from the issuer
/// (OpenID Connect Discovery, then RFC 8414).
/// </summary>
public sealed class GenericOAuthOptions : ProviderOptions
{
    /// <summary>The authorization server's issuer identifier. Needed for discovery and for the RFC 9207 <c>iss</c> check.</summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// Read endpoints from the issuer's metadata. Default: true when <see cref="Issuer"/> is set and the authorization or
    /// token endpoint is not.
    /// </summary>
    public bool? UseDiscovery { get; set; }

    /// <summary>
    /// Metadata URL. Default <c>{Issuer}/.well-known/openid-configuration</c>, then RFC 8414's <c>/.well-known/oauth-authorization-server</c>.
    /// Without <see cref="Issuer"/> it must be one of those two well-known forms: the issuer it implies is then the one the
    /// metadata, the RFC 9207 <c>iss</c> and the ID token's <c>iss</c> must name (OpenID Connect Discovery §4.3, RFC 8414 §3.3).
    /// </summary>
    public string? DiscoveryUrl { get; set; }

    /// <summary>
    /// Hosts that endpoints read from metadata may be on, besides the issuer's own host and the hosts of endpoints set
    /// here (e.g. Google: <c>oauth2.googleapis.com</c>, <c>openidconnect.googleapis.com</c>). A metadata document pointing
    /// anywhere else is refused: the client secret and users' tokens go to those endpoints.
    /// </summary>
    public List<string> AllowedEndpointHosts { get; set; } = [];

    public string? AuthorizationEndpoint { get; set; }
    public string? TokenEndpoint { get; set; }
    /// <summary>RFC 7009 endpoint; without one, unlink reports that the provider cannot revoke.</summary>
    public string? RevocationEndpoint { get; set; }
    public string? UserinfoEndpoint { get; set; }

    /// <summary><c>ClientSecretBasic</c> (default, RFC 6749 §2.3.1 form-encoding) or <c>ClientSecretPost</c>.</summary>
    public ClientAuthenticationMethod ClientAuthentication { get; set; } = ClientAuthenticationMethod.ClientSecretBasic;

    /// <summary>PKCE with S256. Default true (RFC 9700 §2.1.1).</summary>
    public bool Pkce { get; set; } = true;

    /// <summary>Scopes to request. Default none (the provider's defaults).</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Separator between scopes. Default a space (RFC 6749 §3.3); some providers want a comma.</summary>
    public string ScopeSeparator { get; set; } = " ";

    /// <summary>Where the account id comes from: <c>Auto</c> (ID token if issued, else userinfo), <c>IdToken</c> or <c>Userinfo</c>.</summary>
    public AccountIdSource AccountIdSource { get; set; } = AccountIdSource.Auto;

    /// <summary>The claim or userinfo field (dotted path, e.g. <c>data.user.id</c>) holding the account id. Default <c>sub</c>.</summary>
    public string AccountIdClaim { get; set; } = "sub";

    /// <summary>Claim or field shown as the account's name. Default <c>name</c>, falling back to <c>preferred_username</c> and <c>email</c>.</summary>
    public string DisplayNameClaim { get; set; } = "name";

    /// <summary>
    /// Require the RFC 9207 <c>iss</c> on every authorization response. Default: what the metadata says
    /// (<c>authorization_response_iss_parameter_supported</c>). A sent <c>iss</c> is always checked.
    /// </summary>
    public bool? RequireIssParameter { get; set; }

    /// <summary>Extra authorize parameters (e.g. <c>prompt</c>, <c>audience</c>).</summary>
    public Dictionary<string, string> AuthorizationParameters { get; set; } = [];

    /// <summary>How long discovered metadata is trusted before it is read again. Default 24 hours.</summary>
    public TimeSpan MetadataLifetime { get; set; } = TimeSpan.FromHours(24);

    public bool Discovers => UseDiscovery ?? ((Issuer is not null || DiscoveryUrl is not null) && (AuthorizationEndpoint is null || TokenEndpoint is null));

    /// <summary>The <c>openid</c> scope is requested, so an ID token is expected and checked.</summary>
    public bool RequestsOpenId => Scopes.Contains("openid", StringComparer.Ordinal);

    /// <summary>The issuer the configuration names: <see cref="Issuer"/>, or the one a well-known <see cref="DiscoveryUrl"/> implies.</summary>
    public string? ExpectedIssuer => Issuer ?? (DiscoveryUrl is null ? null : WellKnown.IssuerOf(DiscoveryUrl));

    public override IEnumerable<string> Validate(string prefix)
    {
        foreach (var error in base.Validate(prefix))
        {
            yield return error;
        }

        if (Discovers && Issuer is null && DiscoveryUrl is null)
        {
            yield return $"{prefix}:Issuer is required for discovery (or a well-known DiscoveryUrl).";
        }

        if (Issuer is null && DiscoveryUrl is not null && WellKnown.IssuerOf(DiscoveryUrl) is null)
        {
            yield return $"{prefix}:DiscoveryUrl must be a well-known metadata URL (OpenID Connect Discovery §4, RFC 8414 §3) when Issuer is not set, so the issuer it names can be checked.";
        }

        if (RequestsOpenId && ExpectedIssuer is null)
        {
            // OpenID Connect Core §3.1.3.7 item 2: the ID token's iss must exactly match the issuer.
            yield return $"{prefix}:Issuer is required with the openid scope: the ID token's iss is checked against it.";
        }

        if (AccountIdSource == AccountIdSource.IdToken && !RequestsOpenId)
        {
            // OpenID Connect Core §3.1.2.1: an ID token is issued only when the openid scope is requested.
            yield return $"{prefix}:AccountIdSource IdToken needs the openid scope in Scopes (an ID token is issued only for openid).";
        }

        foreach (var host in AllowedEndpointHosts.Where(h => Uri.CheckHostName(h) is UriHostNameType.Unknown or UriHostNameType.Basic))
        {
            yield return $"{prefix}:AllowedEndpointHosts entry '{new string(host.Take(64).ToArray())}' is not a host name.";
        }

        if (!Discovers && (AuthorizationEndpoint is null || TokenEndpoint is null))
        {
            yield return $"{prefix}: set AuthorizationEndpoint and TokenEndpoint, or Issuer for discovery.";
        }

        foreach (var (name, value) in new[] { (nameof(Issuer), Issuer), (nameof(DiscoveryUrl), DiscoveryUrl), (nameof(AuthorizationEndpoint), AuthorizationEndpoint), (nameof(TokenEndpoint), TokenEndpoint), (nameof(RevocationEndpoint), RevocationEndpoint), (nameof(UserinfoEndpoint), UserinfoEndpoint) })
        {
            foreach (var error in ValidateEndpoint(prefix, name, value))
            {
                yield return error;
            }
        }

        if (ClientAuthentication == ClientAuthenticationMethod.ClientSecretBasicRaw)
        {
            yield return $"{prefix}:ClientAuthentication must be ClientSecretBasic or ClientSecretPost.";
        }

        if (AccountIdSource == AccountIdSource.Userinfo && UserinfoEndpoint is null && !Discovers)
        {
            yield return $"{prefix}:UserinfoEndpoint is required when the account id comes from userinfo.";
        }

        if (string.IsNullOrWhiteSpace(AccountIdClaim))
        {
            yield return $"{prefix}:AccountIdClaim must not be empty.";
        }
    }
}

public enum AccountIdSource
{
    Auto,
    IdToken,
    Userinfo,
}
