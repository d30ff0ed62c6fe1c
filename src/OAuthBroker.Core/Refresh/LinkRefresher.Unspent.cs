using OAuthBroker.Links;

namespace OAuthBroker.Refresh;

/// <summary>Taking back this attempt's own spend marker when it knows nothing was spent.</summary>
public sealed partial class LinkRefresher
{
    /// <summary>
    /// Nothing of this attempt's spend reached the provider, or the provider answered that it issued nothing: the marker
    /// goes and the link is looked at again at <paramref name="at"/>. The row may have changed since the renewal: this
    /// holder stalled (a GC pause, a starved thread) past its lease, and another instance found the lease lapsed with the
    /// marker in place and held the link as "outcome unknown". Then the row is read again and the marker cleared by
    /// compare-and-swap only when it is still the one this attempt left (<see cref="LeftByThisAttemptAsync"/>); otherwise
    /// whoever changed the row decides. False when the marker was not this attempt's to clear.
    /// </summary>
    private async Task<bool> RescheduleUnspentAsync(Held held, string code, DateTimeOffset at, bool countsAsFailure, CT ct)
    {
        held.Done = true;
        try
        {
            await recorder.RescheduleAsync(held.Row, code, at, countsAsFailure, ct);
            return true;
        }
        catch (LinkConcurrencyException)
        {
            // Changed since the renewal: look at what is there now.
        }

        var row = await links.GetAsync(held.Row.UserId, held.Row.ProviderId, held.Row.AccountId, ct);
        if (row is null || !await LeftByThisAttemptAsync(row, held.Row, ct))
        {
            LogLeaseLost(logger, held.Row.ProviderId, "before the spend, and the row changed meanwhile; nothing was spent");
            return false;
        }

        try
        {
            await recorder.RescheduleAsync(row, code, at, countsAsFailure, ct);
        }
        catch (LinkConcurrencyException)
        {
            // Changed again meanwhile: whoever changed it decides.
            return false;
        }

        LogUnspentMarkerCleared(logger, row.ProviderId);
        return true;
    }

    /// <summary>
    /// True when <paramref name="row"/>'s spend marker can only be the one <paramref name="ours"/> left: the same version
    /// marked at the same moment (<see cref="AccountLink.SpendStartedAt"/>, on the lease clock, is the attempt's
    /// identity), the row still names that credential (nothing newer was stored or linked), the link is active, nobody
    /// holds a live lease on it, and the vault holds no result refreshed from that version (which would mean somebody
    /// did spend it; the next refresher adopts that result).
    /// </summary>
    private async Task<bool> LeftByThisAttemptAsync(AccountLink row, AccountLink ours, CT ct)
    {
        var same = row.Status is LinkStatus.Active or LinkStatus.PendingKey
            && row.Status == ours.Status
            && ours.SpendingVersion is { } spending
            && row.SpendingVersion == spending
            && row.SpendStartedAt == ours.SpendStartedAt
            && row.CredentialName == ours.CredentialName
            && row.CredentialVersion == spending
            && !leases.HeldByOther(row, _instance);
        if (!same)
        {
            return false;
        }

        var latest = await vault.ReadAsync(row.CredentialName, ct);
        return latest is not null && latest.RefreshedFrom != ours.SpendingVersion;
    }
}
