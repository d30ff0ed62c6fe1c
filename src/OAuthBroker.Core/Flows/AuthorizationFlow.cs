namespace OAuthBroker.Flows;

/// <summary>
/// One started authorization: stored at authorize, consumed once at callback. Keyed by the state's
/// fingerprint; the state itself is never stored.
/// </summary>
public sealed record AuthorizationFlow
{
    /// <summary>SHA-256 fingerprint of the state parameter.</summary>
    public required string StateFingerprint { get; init; }
    public required string UserId { get; init; }
    public required string ProviderId { get; init; }
    public required Uri ReturnUrl { get; init; }
    public required Uri RedirectUri { get; init; }
    /// <summary>Fingerprint of the browser-binding cookie of the browser that started the flow.</summary>
    public required string BrowserFingerprint { get; init; }
    /// <summary>PKCE verifier, only for providers that take a challenge. Useless without the code.</summary>
    public string? CodeVerifier { get; init; }
    /// <summary>OpenID Connect nonce sent on the authorize leg; an ID token must carry it back.</summary>
    public required string Nonce { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>Storage concurrency token; consumption is a delete conditioned on it.</summary>
    public string? ETag { get; init; }

    public override string ToString() => $"AuthorizationFlow {{ ProviderId = {ProviderId}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>Storage of open authorization flows.</summary>
public interface IAuthorizationFlowStore
{
    Task CreateAsync(AuthorizationFlow flow, CT ct);

    Task<AuthorizationFlow?> FindAsync(string stateFingerprint, CT ct);

    /// <summary>
    /// Deletes the flow if it is still the version that was read. Exactly one caller gets <c>true</c> for a
    /// given flow, which is what makes state single-use even under concurrent replays.
    /// </summary>
    Task<bool> TryConsumeAsync(AuthorizationFlow flow, CT ct);

    /// <summary>Flows that expired before <paramref name="before"/>, for housekeeping (deleted with <see cref="TryConsumeAsync"/>).</summary>
    IAsyncEnumerable<AuthorizationFlow> ListExpiredAsync(DateTimeOffset before, CT ct);
}
