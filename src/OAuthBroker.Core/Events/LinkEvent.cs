namespace OAuthBroker.Events;

/// <summary>
/// Something a platform must act on: a link created, linked again, needing its user, deleted, or a provider rejecting
/// the broker's own client credentials. Names the provider, the account and the platform user, never a secret: no
/// token, code, key or vault name ever goes into an event.
/// </summary>
public sealed record LinkEvent
{
    /// <summary>
    /// Unique and stable across every delivery attempt and every listing: the <c>webhook-id</c> receivers deduplicate by
    /// (Standard Webhooks, "Webhook metadata"). Time-ordered (a version 7 UUID), and never contains a full stop.
    /// </summary>
    public required string Id { get; init; }

    /// <summary>One of <see cref="LinkEventTypes"/>.</summary>
    public required string Type { get; init; }

    /// <summary>When the state change happened (this instance's clock).</summary>
    public required DateTimeOffset OccurredAt { get; init; }

    public required string ProviderId { get; init; }

    /// <summary>The platform user the link belongs to; null for provider-wide events.</summary>
    public string? UserId { get; init; }

    /// <summary>The provider's account id; null for provider-wide events.</summary>
    public string? AccountId { get; init; }

    /// <summary>The link's status after the change, in the API's spelling (<c>active</c>, <c>reauth_required</c>…).</summary>
    public string? Status { get; init; }

    /// <summary>A short code saying why (e.g. <c>invalid_grant</c>, <c>access_token_expired</c>); never provider text.</summary>
    public string? Reason { get; init; }

    /// <summary>For <see cref="LinkEventTypes.Deleted"/>: what revocation at the provider achieved.</summary>
    public string? Revocation { get; init; }

    /// <summary>For <see cref="LinkEventTypes.ProviderCredentialsRejected"/>: when the broker tries the provider again.</summary>
    public DateTimeOffset? RetryAt { get; init; }
}
