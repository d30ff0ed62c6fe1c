namespace OAuthBroker.Links;

/// <summary>
/// A user's connection to one account at one provider. Holds no secret material: the credential lives in
/// the vault under <see cref="CredentialName"/>.
/// </summary>
public sealed record AccountLink
{
    public required string UserId { get; init; }
    public required string ProviderId { get; init; }
    /// <summary>The provider's id for the account (e.g. Bybit UID).</summary>
    public required string AccountId { get; init; }
    public string? AccountDisplayName { get; init; }
    public required LinkStatus Status { get; init; }
    /// <summary>
    /// Vault secret name; random and never reused (a soft-deleted name stays blocked for up to 90 days). A re-link,
    /// and a secret that has reached <see cref="Refresh.RefreshOptions.MaxCredentialVersions"/>, move to a fresh name.
    /// </summary>
    public required string CredentialName { get; init; }
    public required IReadOnlyList<string> Scopes { get; init; }
    public required bool HasApiKey { get; init; }
    public required bool HasRefreshToken { get; init; }
    public DateTimeOffset? AccessTokenExpiresAt { get; init; }
    public DateTimeOffset? RefreshTokenExpiresAt { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>
    /// <see cref="Credentials.VaultedCredential.StoredAt"/> of the credential version this row describes (for rows written
    /// before <see cref="CredentialVersion"/> existed, the only way to tell that version).
    /// </summary>
    public DateTimeOffset? CredentialStoredAt { get; init; }

    /// <summary>
    /// The exact vault version (Key Vault's version id) holding the credential this row describes. Refreshers and readers
    /// read that version, never "the latest": a write committed late (a retried attempt of an older document) or a read
    /// that lags the newest write (vaults allow-listed for higher throughput show writes within 60 s) would otherwise
    /// hand out a superseded refresh token. Null only on rows written before versions were pinned.
    /// </summary>
    public string? CredentialVersion { get; init; }

    /// <summary>Random id of the grant behind the credential: new on every link and re-link, kept across refreshes.</summary>
    public string? GrantId { get; init; }

    /// <summary>Versions written under <see cref="CredentialName"/> so far (Key Vault cannot back up a secret with more than 500).</summary>
    public int CredentialVersions { get; init; }

    /// <summary>When the refresh sweep should next look at this link; null when nothing is scheduled.</summary>
    public DateTimeOffset? NextRefreshAt { get; init; }
    /// <summary>The row of this link's current entry in the due index (so stale entries can be told apart).</summary>
    public string? DueKey { get; init; }
    /// <summary>Last successful refresh.</summary>
    public DateTimeOffset? LastRefreshAt { get; init; }
    /// <summary>Consecutive failed refresh attempts (reset by a success).</summary>
    public int RefreshFailures { get; init; }
    /// <summary>Provider code of the last failure, for operators (never a token or provider text).</summary>
    public string? LastFailure { get; init; }

    /// <summary>Refresh lease: who holds it (an instance id) and until when. Only the holder may spend the refresh token.</summary>
    public string? LeaseOwner { get; init; }
    /// <summary>End of the lease, on the <see cref="Refresh.ILeaseClock"/> (the storage service's clock), never an instance's own.</summary>
    public DateTimeOffset? LeaseUntil { get; init; }

    /// <summary>
    /// Set by a refresher right before it spends the refresh token: the vault version (<see cref="CredentialVersion"/>)
    /// it spends. Cleared once the outcome is known. Found set while nobody holds the lease, it means the last spend's
    /// outcome is unknown: unless the vault holds that spend's own result (a version whose
    /// <see cref="Credentials.VaultedCredential.RefreshedFrom"/> names it), that refresh token may already be spent and
    /// is never sent again.
    /// </summary>
    public string? SpendingVersion { get; init; }

    /// <summary>When (lease clock) the spend named by <see cref="SpendingVersion"/> began; for operators.</summary>
    public DateTimeOffset? SpendStartedAt { get; init; }

    /// <summary>
    /// <see cref="LinkStatus.PendingKey"/>: the provider's progress of the pending authorization
    /// (<see cref="Providers.PendingAuthorization.Progress"/>; not secret — the tokens are in the vault).
    /// </summary>
    public IReadOnlyDictionary<string, string>? PendingProgress { get; init; }

    /// <summary><see cref="LinkStatus.PendingKey"/>: what it waits for (<c>key_not_created</c>, <c>key_locked</c>, <c>provider_unavailable</c>).</summary>
    public string? WaitingFor { get; init; }

    /// <summary>
    /// <see cref="LinkStatus.PendingKey"/>: when (lease clock) the user's unlink gave the lease back so the refresher could
    /// renew the pair it deletes the flow's key with. While fresh (<see cref="LinkLeases.UnlinkRequested"/>) the continuation
    /// leaves the link to the unlink: it neither links the key nor ends the flow, so the unlink cannot lose to a sweep. It
    /// lapses by itself, so an unlink whose process died leaves no link stuck. Null on rows written before it existed.
    /// </summary>
    public DateTimeOffset? UnlinkRequestedAt { get; init; }

    /// <summary>
    /// Events of this row's state changes not yet copied to the event log: written in the same conditional write as the
    /// change (the row is its own outbox), emptied by the store once the log holds them. See docs/events.md.
    /// </summary>
    public IReadOnlyList<Events.LinkEvent> PendingEvents { get; init; } = [];

    /// <summary>Storage concurrency token; every change is conditioned on it.</summary>
    public string? ETag { get; init; }

    /// <summary>True while a lease is held at <paramref name="now"/> (compare with the lease clock, not a local one).</summary>
    public bool IsLeased(DateTimeOffset now) => LeaseUntil is { } until && until > now;

    /// <summary>
    /// True while a lease is held and plausible: a lease reaching further ahead than any holder could have taken
    /// (<paramref name="longest"/>) was written by a clock that ran ahead, and is treated as expired rather than pinned.
    /// </summary>
    public bool IsLeased(DateTimeOffset now, TimeSpan longest) => LeaseUntil is { } until && until > now && until - now <= longest;

    /// <summary>A spend began and its outcome was never recorded: the refresh token may be spent.</summary>
    public bool SpendInDoubt => SpendingVersion is not null;

    /// <summary>This link's identity as one string, for in-process maps (single-flight, caches).</summary>
    public string Key => KeyOf(UserId, ProviderId, AccountId);

    public static string KeyOf(string userId, string providerId, string accountId) => userId + "\n" + providerId + "\n" + accountId;
}
