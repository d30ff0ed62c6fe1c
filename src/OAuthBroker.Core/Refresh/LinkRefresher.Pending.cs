using OAuthBroker.Links;

namespace OAuthBroker.Refresh;

/// <summary>
/// Renewing the access token of a link that waits for its provider (WhiteBIT's key): the very spend a refresh makes, with
/// every rule it keeps (the version the row names, the vault-write gate and its proof, the write pacer, the lease budget,
/// <see cref="RefreshOptions.RefreshCallTimeout"/>, <see cref="SpendClassifier"/>, the result written before the row).
/// </summary>
public sealed partial class LinkRefresher
{
    /// <summary>
    /// Continues a pending link; when the continuation asks for a renewal it has given its lease back, the refresh token
    /// is spent here, and the continuation goes on once with the renewed pair.
    /// </summary>
    private async Task<RefreshOutcome> ContinuePendingAsync(AccountLink link, CT ct)
    {
        var outcome = await pendingKeys.ContinueAsync(link, ct);
        if (outcome != RefreshOutcome.RenewalNeeded)
        {
            return outcome;
        }

        var renewed = await RenewPendingAsync(link.UserId, link.ProviderId, link.AccountId);
        if (renewed != RefreshOutcome.Refreshed)
        {
            return renewed;
        }

        return await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct) is { Status: LinkStatus.PendingKey } current
            ? await pendingKeys.ContinueAsync(current, afterRenewal: true, ct)
            : RefreshOutcome.Refreshed;
    }

    /// <summary>
    /// The refresh of a <see cref="LinkStatus.PendingKey"/> link, under this refresher's own lease. Not the caller's
    /// token, as for every refresh: each step is bounded by its own budget, and a spend that was sent gets its result stored.
    /// </summary>
    private async Task<RefreshOutcome> RenewPendingAsync(string userId, string providerId, string accountId)
    {
        var ct = CT.None;
        var link = await links.GetAsync(userId, providerId, accountId, ct);
        if (link is not { Status: LinkStatus.PendingKey, HasRefreshToken: true })
        {
            return RefreshOutcome.Gone;
        }

        if (leases.HeldByOther(link, _instance))
        {
            return RefreshOutcome.Busy;
        }

        if (providers.Find(providerId) is not { } provider)
        {
            await recorder.ParkAsync(link, "provider_unavailable", time.GetUtcNow() + options.Value.KeepAliveInterval, ct);
            return RefreshOutcome.ProviderUnavailable;
        }

        if (breaker.OpenUntil(providerId) is { } openUntil)
        {
            await recorder.ParkAsync(link, link.LastFailure ?? "provider_breaker_open", openUntil, ct);
            return RefreshOutcome.ProviderMisconfigured;
        }

        return await LeaseAndRefreshAsync(link, provider, ct);
    }
}
