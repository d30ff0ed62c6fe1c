using Microsoft.Extensions.Logging;
using OAuthBroker.Credentials;
using OAuthBroker.Events;
using OAuthBroker.Flows;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;

namespace OAuthBroker.Links;

/// <summary>
/// The final end of a <see cref="LinkStatus.PendingKey"/> link (<see cref="PendingKeyContinuation"/>, and the refresher
/// through <see cref="PendingKeyContinuation.FailHeldAsync"/>), under its holder's lease: the flow's own key removed where
/// it can be, then the row marked <see cref="LinkStatus.ReauthRequired"/> with the reason and
/// <see cref="LinkEventTypes.WhiteBitKeyFailed"/> in one write. The reason is <see cref="PendingKeyContinuation.KeyLeftCode"/>
/// when the removal did not succeed: whatever else went wrong, what the user must do first is delete that key (the cause
/// is logged).
/// </summary>
internal sealed partial class PendingKeyFailure(IAccountLinkStore store, RefreshRecorder recorder, LinkLeases leases, TimeProvider time, ILogger logger)
{
    /// <param name="vaulted">The pending credential; null when nothing is to be removed (none left, or the provider says the flow created nothing).</param>
    public async Task<RefreshOutcome> EndAsync(AccountLink leased, VaultedCredential? vaulted, IDeferredAuthorization? deferred, string code, CT ct)
    {
        RevocationStatus? removed = null;
        AccountLink? held = leased;
        if (deferred is not null && vaulted is not null)
        {
            (removed, held) = await RemoveHeldAsync(leased, vaulted, deferred, ct);
        }

        var reason = removed is { } status && status != RevocationStatus.Revoked ? PendingKeyContinuation.KeyLeftCode : code;
        if (held is null)
        {
            LogLeaseLost(logger, leased.ProviderId, code, removed);
            return RefreshOutcome.LeaseLost;
        }

        var now = time.GetUtcNow();
        var failed = PendingKeyContinuation.Released(held) with
        {
            Status = LinkStatus.ReauthRequired,
            LastFailure = reason,
            WaitingFor = null,
            NextRefreshAt = null,
            UpdatedAt = now,
        };
        try
        {
            await recorder.ReplaceWithScheduleAsync(held, failed.Announcing(LinkEventTypes.WhiteBitKeyFailed, now, reason), CT.None);
        }
        catch (LinkConcurrencyException)
        {
            // Another holder wrote the link meanwhile: its state wins, and its own run ends the flow.
            LogLeaseLost(logger, leased.ProviderId, code, removed);
            return RefreshOutcome.LeaseLost;
        }

        LogKeyFailed(logger, leased.ProviderId, code, removed);
        return RefreshOutcome.ReauthRequired;
    }

    /// <summary>
    /// Removes what the flow created under a lease kept alive for as long as that takes (<see cref="LinkLeases.KeepAsync"/>):
    /// WhiteBIT's deletion waits out 423s for up to its own budget (<c>KeyDeletionLockedTotalWait</c>, 90 s by default), longer than
    /// what a refresher's lease has left after its spend, and a lease lapsing meanwhile would let another instance link or
    /// end the flow under it. The row as last written comes back for the final write; null when the lease was lost (the
    /// removal then stops where it was).
    /// </summary>
    private async Task<(RevocationStatus? Removed, AccountLink? Held)> RemoveHeldAsync(AccountLink leased, VaultedCredential vaulted, IDeferredAuthorization deferred, CT ct)
    {
        var existing = await DeferredProviderLeg.ExistingAccountIdsAsync(store, leased.UserId, leased.ProviderId, ct);
        await using var heartbeat = await leases.KeepAsync(leased, CT.None);
        if (heartbeat is null)
        {
            return (null, null);
        }

        RevocationStatus removed;
        try
        {
            // Note: not the caller's token; only a lost lease stops the removal.
            removed = (await deferred.AbandonAsync(PendingKeyContinuation.Pending(leased, vaulted, existing, time.GetUtcNow()), heartbeat.Lost)).Status;
        }
        catch (OperationCanceledException) when (heartbeat.Lost.IsCancellationRequested)
        {
            removed = RevocationStatus.Unavailable;
        }

        return (removed, await heartbeat.StopAsync());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending key at {ProviderId} failed ({Code}); what the flow created at the provider: {Removed} (none: not attempted); the user must connect again")]
    private static partial void LogKeyFailed(ILogger logger, string providerId, string code, RevocationStatus? removed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending key at {ProviderId} failed ({Code}), but its lease was lost before the end was written (what the flow created: {Removed}); the holder that took it ends the flow")]
    private static partial void LogLeaseLost(ILogger logger, string providerId, string code, RevocationStatus? removed);
}
