namespace OAuthBroker.Sandbox;

/// <summary>
/// How the BuiltByBit sandbox behaves. Sources: https://builtbybit.com/wiki/oauth2/, the API spec
/// (BuiltByBit/api-openapi-spec spec.yaml: /oauth2/token, /oauth2/token/revoke, components.responses.Error), the
/// generated wrappers' docs (Oauth2Api, getV2MembersSelf, Member) and the official JS/Rust wrappers (rate limits).
/// </summary>
public sealed class BuiltByBitSandboxOptions
{
    public List<SandboxClient> Clients { get; set; } = [];

    /// <summary>Only <c>expires_in</c> is documented; 1 hour here.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Token-endpoint errors as the API envelope (default) or RFC 6749 bodies; which one BuiltByBit uses is undocumented.</summary>
    public ErrorShape TokenErrorShape { get; set; } = ErrorShape.Envelope;

    /// <summary>Send <c>user_id</c> as a JSON number instead of the spec's string (the real type is undocumented).</summary>
    public bool UserIdAsNumber { get; set; }

    /// <summary>
    /// The wiki: "OAuth2 grants may only use scopes which are enabled on the token". The names are undocumented, so by
    /// default (empty) any scope is taken; when set, authorize refuses a scope not listed (an error page, no redirect).
    /// </summary>
    public List<string> EnabledScopes { get; set; } = [];

    /// <summary>
    /// The API v2 token behind the client is disabled (or has no "Project name", or the Ultimate subscription lapsed: the
    /// wiki's preconditions). The token and revoke endpoints then answer 403 with the error envelope (status undocumented).
    /// </summary>
    public bool ApiTokenDisabled { get; set; }

    /// <summary>
    /// The revoke answer: spec.yaml documents only 200 <c>{"revoked": boolean}</c> (default true). <c>Revoked</c> (default)
    /// or <c>NotRevoked</c> (<c>{"revoked":false}</c>).
    /// </summary>
    public RevokeAnswer RevokeAnswer { get; set; } = RevokeAnswer.Revoked;

    /// <summary>Whether refresh rotates the refresh token (undocumented). <c>true</c> (default) or <c>false</c> (the same one comes back).</summary>
    public bool RotateRefreshTokens { get; set; } = true;

    /// <summary>With rotation: whether a rotated-away refresh token kills the grant (RFC 9700 §4.14.2; undocumented by BuiltByBit). Default true.</summary>
    public bool ReusedRefreshTokenRevokesGrant { get; set; } = true;

    /// <summary>
    /// How the Basic header is read. The spec and wiki: "HTTP Basic Authentication using your token's client credentials"
    /// with a pre-encoded header on the token's Details page. <c>Raw</c> (default; a third-party integration reports the
    /// form-encoded variant refused when the secret has '/'), <c>FormEncoded</c> (RFC 6749 §2.3.1) or <c>Either</c>.
    /// </summary>
    public BasicEncoding BasicEncoding { get; set; } = BasicEncoding.Raw;

    /// <summary>
    /// Requests per client per minute before 429 (null: unlimited). The official wrappers keep separate READ (GET) and
    /// WRITE (POST/PATCH/DELETE) limits and read Retry-After as milliseconds; the numbers are undocumented.
    /// </summary>
    public int? ReadRequestsPerMinute { get; set; }

    /// <inheritdoc cref="ReadRequestsPerMinute"/>
    public int? WriteRequestsPerMinute { get; set; }

    /// <summary>The unit of the 429's Retry-After: <c>Milliseconds</c> (default; what the official wrappers read) or <c>Seconds</c> (HTTP).</summary>
    public RetryAfterUnit RetryAfterUnit { get; set; } = RetryAfterUnit.Milliseconds;
}

public enum ErrorShape
{
    Envelope,
    Rfc6749,
}

public enum RevokeAnswer
{
    Revoked,
    NotRevoked,
}

public enum BasicEncoding
{
    Raw,
    FormEncoded,
    Either,
}

public enum RetryAfterUnit
{
    Milliseconds,
    Seconds,
}
