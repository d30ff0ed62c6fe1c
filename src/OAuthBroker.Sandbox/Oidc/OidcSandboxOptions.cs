namespace OAuthBroker.Sandbox;

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

    /// <summary>
    /// Which metadata documents are served: OpenID Connect Discovery §4 (<c>{issuer}/.well-known/openid-configuration</c>),
    /// RFC 8414 §3 (<c>/.well-known/oauth-authorization-server{issuer path}</c>), or both (default).
    /// </summary>
    public MetadataDocuments Metadata { get; set; } = MetadataDocuments.Both;

    /// <summary>
    /// Client authentication the revocation endpoint accepts (RFC 8414 §2 <c>revocation_endpoint_auth_methods_supported</c>,
    /// advertised). A client using another method gets <c>invalid_client</c>: 401 with a Basic challenge, or 400 when it
    /// sent its credentials in the body (RFC 6749 §5.2). Default both.
    /// </summary>
    public ClientAuthMethods RevocationAuthMethods { get; set; } = ClientAuthMethods.Both;

    /// <summary>
    /// Whether access tokens can be revoked. RFC 7009 §2.2.1: a server that cannot answers 400 <c>unsupported_token_type</c>.
    /// Default true.
    /// </summary>
    public bool RevokesAccessTokens { get; set; } = true;

    /// <summary>Audiences the ID token carries besides the client (OpenID Connect Core §2 aud: "MAY also contain identifiers for other audiences").</summary>
    public List<string> ExtraAudiences { get; set; } = [];

    /// <summary>
    /// The ID token's <c>azp</c> (Core §2: the party the token was issued to). Null (default): only when there are extra
    /// audiences, then the client; a value: always that value (a wrong one, to test the check).
    /// </summary>
    public string? AuthorizedParty { get; set; }

    /// <summary>
    /// Put <c>name</c> into the ID token. Core §5.4: the profile claims "are returned from the UserInfo Endpoint" in the
    /// code flow, so a server may leave them out of the ID token (<c>false</c>). Default true.
    /// </summary>
    public bool NameInIdToken { get; set; } = true;
}

public enum MetadataDocuments
{
    Both,
    OpenIdConfigurationOnly,
    AuthorizationServerOnly,
}

public enum ClientAuthMethods
{
    Both,
    BasicOnly,
    PostOnly,
}
