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
    /// <summary>A transient failure; rescheduled with backoff.</summary>
    Retrying,
    /// <summary>The provider rejects the broker's client credentials; the provider-wide breaker is open.</summary>
    ProviderMisconfigured,
    /// <summary>The refresh token was rejected (after one retry with the newest): the user must connect again.</summary>
    ReauthRequired,
    /// <summary>No refresh token and the access token expired: the user must connect again.</summary>
    Expired,
    /// <summary>The link is gone, or its due-index entry was stale.</summary>
    Gone,
}
