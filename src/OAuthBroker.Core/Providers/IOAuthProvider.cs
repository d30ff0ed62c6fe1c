namespace OAuthBroker.Providers;

/// <summary>
/// One provider's OAuth dialect: how to send the user to it and how to turn its authorization code into a
/// vaultable credential and an account identity. Implementations translate only; they never store anything.
/// Expected protocol failures come back as <see cref="ProviderResult{T}"/> values, not exceptions.
/// </summary>
public interface IOAuthProvider
{
    ProviderDescriptor Descriptor { get; }

    /// <summary>The URL the user's browser is sent to.</summary>
    Uri BuildAuthorizationUrl(AuthorizationRequest request);

    /// <summary>Exchanges the code and gathers everything the link needs (identity, tokens, API key).</summary>
    Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct);
}

/// <param name="State">Opaque, unguessable flow state echoed back on the callback.</param>
/// <param name="RedirectUri">The exact callback URL registered with the provider.</param>
/// <param name="CodeChallenge">S256 PKCE challenge, when the provider supports PKCE.</param>
public sealed record AuthorizationRequest(string State, Uri RedirectUri, string? CodeChallenge)
{
    public override string ToString() => $"AuthorizationRequest {{ RedirectUri = {RedirectUri} }}";
}

/// <param name="Code">The authorization code from the callback.</param>
/// <param name="RedirectUri">The redirect URI used on the authorize leg.</param>
/// <param name="CodeVerifier">The PKCE verifier kept in the flow state, when PKCE was used.</param>
public sealed record AuthorizationCompletion(string Code, Uri RedirectUri, string? CodeVerifier)
{
    public override string ToString() => $"AuthorizationCompletion {{ RedirectUri = {RedirectUri} }}";
}
