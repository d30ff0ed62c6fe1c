namespace OAuthBroker.Flows;

/// <summary>
/// A provider grant the callback obtained but nobody has confirmed yet. The link exists only when the user the flow
/// was started for confirms it with the one-time completion code, and proves it is the browser that finished the
/// provider leg (its cookie) or, for a flow started with a completion challenge, the frontend that started it (the
/// verifier). Keyed by the code's fingerprint (the code itself is never stored); the grant is sealed
/// (<see cref="Sealing.Sealer"/>), bound to this record's key, user, provider, browser and challenge.
/// </summary>
public sealed record PendingLink
{
    /// <summary>SHA-256 fingerprint of the completion code.</summary>
    public required string CompletionFingerprint { get; init; }
    public required string UserId { get; init; }
    public required string ProviderId { get; init; }
    /// <summary>Fingerprint of the browser-binding cookie of the browser that finished the provider leg.</summary>
    public required string BrowserFingerprint { get; init; }
    /// <summary>S256 challenge of the frontend's completion verifier, when the flow was started with one (start tickets).</summary>
    public string? CompletionChallenge { get; init; }
    /// <summary>The <see cref="Providers.ProviderGrant"/>, sealed. Useless without the key ring.</summary>
    public required string SealedGrant { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>
    /// Set when someone took the record (a completion, or housekeeping): a random id of that taker. A taken record is
    /// never taken again; its taker removes it once the grant is linked or revoked.
    /// </summary>
    public string? TakenBy { get; init; }
    /// <summary>Storage concurrency token; taking the record is an update conditioned on it.</summary>
    public string? ETag { get; init; }

    /// <summary>The context the grant is sealed under: moving the sealed value to another record does not open it.</summary>
    internal string SealingContext => CompletionChallenge is null
        ? $"{CompletionFingerprint}|{UserId}|{ProviderId}|{BrowserFingerprint}"
        : $"{CompletionFingerprint}|{UserId}|{ProviderId}|{BrowserFingerprint}|{CompletionChallenge}";

    public override string ToString() => $"PendingLink {{ ProviderId = {ProviderId}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>Storage of pending links.</summary>
public interface IPendingLinkStore
{
    Task CreateAsync(PendingLink pending, CT ct);

    Task<PendingLink?> FindAsync(string completionFingerprint, CT ct);

    /// <summary>
    /// Marks the record taken by <paramref name="takeId"/> if it is still the version that was read; of any number of
    /// concurrent takers exactly one gets the taken record (with its new ETag), even when its answer was lost and retried.
    /// </summary>
    Task<PendingLink?> TryTakeAsync(PendingLink pending, string takeId, CT ct);

    /// <summary>Puts a taken record back, untaken (its completion failed transiently). False when it changed meanwhile.</summary>
    Task<bool> TryReleaseAsync(PendingLink taken, CT ct);

    /// <summary>Deletes a taken record once its grant is linked or revoked; a record already gone is fine.</summary>
    Task RemoveAsync(PendingLink taken, CT ct);

    /// <summary>Records that expired before <paramref name="before"/>, for housekeeping.</summary>
    IAsyncEnumerable<PendingLink> ListExpiredAsync(DateTimeOffset before, CT ct);
}
