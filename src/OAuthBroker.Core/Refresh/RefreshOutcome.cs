namespace OAuthBroker.Refresh;

/// <summary>What one refresh attempt did to a link.</summary>
public enum RefreshOutcome
{
    /// <summary>New tokens vaulted and the link updated.</summary>
    Refreshed,
    /// <summary>Not due, or already fresh: someone else refreshed it, or it did not need it.</summary>
    NotNeeded,
    /// <summary>Another refresher holds the lease.</summary>
    Busy,
    /// <summary>A transient failure the provider answered definitely (nothing spent); rescheduled with backoff.</summary>
    Retrying,
    /// <summary>The last attempt failed and its backoff has not passed: an on-demand read does not call the provider again.</summary>
    BackingOff,
    /// <summary>The provider rejects the broker's client credentials; the provider-wide breaker is open.</summary>
    ProviderMisconfigured,
    /// <summary>The link's provider is not configured or is disabled: nothing can be done until it is back.</summary>
    ProviderUnavailable,
    /// <summary>The refresh token was rejected (after one retry with the newest): the user must connect again.</summary>
    ReauthRequired,
    /// <summary>No refresh token and the access token expired: the user must connect again.</summary>
    Expired,
    /// <summary>The link is gone, or its due-index entry was stale.</summary>
    Gone,
    /// <summary>
    /// The provider may have rotated the refresh token but no usable answer came back (timeout after sending, reset,
    /// 502/504, a broken or unreadable 2xx), or an earlier refresher stopped mid-spend. The token is never sent again;
    /// the access token is served until it expires, then the user must connect again.
    /// </summary>
    OutcomeUnknown,
    /// <summary>The refresh token was spent but the new credential could not be stored (the vault refused the write).</summary>
    ResultLost,
    /// <summary>
    /// The credential is too large to store (Key Vault: 25 KB per secret) once refreshed: it is not spent, and the user
    /// is asked to connect again when the access token expires.
    /// </summary>
    CredentialTooLarge,
    /// <summary>The vault does not take writes right now: nothing was spent, nothing changed.</summary>
    VaultWritesBlocked,
    /// <summary>No vault-write slot within <see cref="RefreshOptions.PacingMaxWait"/>: nothing was spent; tried again soon.</summary>
    Deferred,
    /// <summary>The lease was lost before the spend (nothing spent), or after the vault write (the row is behind; logged).</summary>
    LeaseLost,
    /// <summary>A due-index entry that is not the link's current one, but too young to be removed safely (a writer may be about to point the link at it).</summary>
    Skipped,
    /// <summary>
    /// A pending link (<see cref="Links.PendingKeyContinuation"/>) needs its access token renewed: its lease is given back
    /// and the refresher spends the refresh token by the same rules as any refresh, then the continuation goes on.
    /// </summary>
    RenewalNeeded,
}
