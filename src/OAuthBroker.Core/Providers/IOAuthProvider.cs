namespace OAuthBroker.Providers;

/// <summary>
/// One provider's OAuth dialect: how to send the user to it, how to check what comes back, how to turn the code
/// into a vaultable credential and an account identity, and how to revoke. Implementations translate only; they
/// never store anything. Expected protocol failures are <see cref="ProviderResult{T}"/> values, not exceptions.
/// </summary>
public interface IOAuthProvider
{
    ProviderDescriptor Descriptor { get; }

    /// <summary>The URL the user's browser is sent to (async: a provider may need its discovery document first).</summary>
    Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct);

    /// <summary>
    /// Checks the authorization response before its code is used (e.g. RFC 9207 <c>iss</c>). Null when acceptable.
    /// </summary>
    Task<ProviderFailure?> CheckAuthorizationResponseAsync(AuthorizationResponse response, CT ct);

    /// <summary>Exchanges the code and gathers everything the link needs (identity, tokens, API key).</summary>
    Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct);

    /// <summary>Revokes what the provider issued for this credential, where the provider allows it.</summary>
    Task<RevocationResult> RevokeAsync(ProviderCredential credential, CT ct);

    /// <summary>
    /// Spends the credential's refresh token for new tokens. The answer holds only what the provider returned;
    /// keeping the old refresh token when none came back, and the API key, is the caller's job.
    /// </summary>
    Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct);
}

/// <param name="State">Opaque, unguessable flow state echoed back on the callback.</param>
/// <param name="RedirectUri">The exact callback URL registered with the provider.</param>
/// <param name="CodeChallenge">S256 PKCE challenge, when the provider supports PKCE.</param>
/// <param name="Nonce">OpenID Connect nonce, bound to the flow; dialects without ID tokens ignore it.</param>
public sealed record AuthorizationRequest(string State, Uri RedirectUri, string? CodeChallenge, string Nonce)
{
    public override string ToString() => $"AuthorizationRequest {{ RedirectUri = {RedirectUri} }}";
}

/// <summary>The non-secret parts of the provider's redirect that a dialect may need to look at.</summary>
/// <param name="Issuer">RFC 9207 <c>iss</c>, when sent.</param>
/// <param name="Extra">Other single-valued query parameters (bounded), e.g. WhiteBIT's delivered API key.</param>
public sealed record AuthorizationResponse(string? Issuer, IReadOnlyDictionary<string, string> Extra);

/// <param name="Code">The authorization code from the callback.</param>
/// <param name="RedirectUri">The redirect URI used on the authorize leg.</param>
/// <param name="CodeVerifier">The PKCE verifier kept in the flow state, when PKCE was used.</param>
/// <param name="Nonce">The nonce sent on the authorize leg.</param>
/// <param name="Response">What else the redirect carried.</param>
public sealed record AuthorizationCompletion(string Code, Uri RedirectUri, string? CodeVerifier, string Nonce, AuthorizationResponse Response)
{
    public override string ToString() => $"AuthorizationCompletion {{ RedirectUri = {RedirectUri} }}";
}

/// <summary>What revocation at the provider achieved.</summary>
public enum RevocationStatus
{
    /// <summary>The provider confirmed it (or says the credential no longer exists there).</summary>
    Revoked,
    /// <summary>The provider documents no way to revoke (Bybit).</summary>
    NotSupportedByProvider,
    /// <summary>
    /// The provider could revoke, but no longer for us (e.g. WhiteBIT's 4-hour token expired before the key was
    /// deleted): the user must revoke in the provider's own dashboard.
    /// </summary>
    NoLongerPossible,
    /// <summary>A transient failure: nothing may be erased yet, or the chance to revoke would be lost. Retry.</summary>
    Unavailable,
    /// <summary>
    /// The provider answered but did not revoke: RFC 7009 §2.2 counts only a 200 as success, so a 400/401/403
    /// (<c>invalid_client</c>, a wrong client authentication method) or a documented "not revoked" body (BuiltByBit's
    /// <c>{"revoked":false}</c>) means the grant may still be live. Nothing is erased; the user and the operator see
    /// why (<see cref="RevocationResult.Detail"/>), and retrying will not help until the cause is fixed.
    /// </summary>
    Refused,
}

public sealed record RevocationResult(RevocationStatus Status, string Detail, TimeSpan? RetryAfter = null)
{
    /// <summary>
    /// With <see cref="RevocationStatus.Unavailable"/>: revocation needs a live access token, the vaulted one has expired
    /// (or was refused) and a refresh token is vaulted. The caller refreshes through the refresher, which stores the
    /// rotated pair, and then revokes again with the new credential. A dialect never spends the refresh token itself
    /// inside revocation: a rotation whose result cannot be stored would lose the grant (WhiteBIT: the user's key).
    /// </summary>
    public bool RefreshFirst { get; init; }

    public static RevocationResult NotSupported(string providerName) =>
        new(RevocationStatus.NotSupportedByProvider, $"{providerName} documents no way to revoke access; the credential was erased from the broker.");
}
