using Microsoft.Extensions.Logging;
using OAuthBroker.Providers;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Flows;

/// <summary>
/// Discards pending links nobody confirmed in time: takes each (so a completion on an instance whose clock runs behind
/// cannot take it any more and link a grant being revoked), revokes its grant at its provider where the provider allows
/// it, then deletes the sealed record. A record some completion already took is deleted without revocation: its taker
/// may have linked it. A revocation that fails transiently is retried by later runs for
/// <see cref="RevocationRetryWindow"/> (dropping the record would drop the only means to revoke); after that the record
/// goes regardless, since an unconfirmed grant must not be kept indefinitely either.
/// </summary>
public sealed partial class UnconfirmedLinksTask(
    IPendingLinkStore store,
    PendingLinks pendingLinks,
    TimeProvider time,
    ILogger<UnconfirmedLinksTask> logger) : IHousekeepingTask
{
    public static readonly TimeSpan RevocationRetryWindow = TimeSpan.FromHours(1);

    public string Name => "unconfirmed-links";

    public async Task<int> RunAsync(DateTimeOffset deadline, CT ct)
    {
        var now = time.GetUtcNow();
        var removed = 0;
        await foreach (var pending in store.ListExpiredAsync(now, ct))
        {
            if (time.GetUtcNow() >= deadline)
            {
                break;
            }

            if (pending.TakenBy is not null)
            {
                // Left behind by a completion that linked (or discarded) it and then could not delete it.
                await pendingLinks.RemoveAsync(pending);
                removed++;
                continue;
            }

            if (await pendingLinks.TakeAsync(pending, ct) is not { } taken)
            {
                continue;
            }

            var revocation = await pendingLinks.RevokeAsync(taken);
            if (revocation == RevocationStatus.Unavailable && now - taken.ExpiresAt < RevocationRetryWindow)
            {
                LogRevocationDeferred(logger, taken.ProviderId);
                await pendingLinks.RestoreAsync(taken, CT.None);
                continue;
            }

            await pendingLinks.RemoveAsync(taken);
            removed++;
            LogDiscarded(logger, taken.ProviderId, revocation);
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Unconfirmed pending link for {ProviderId} discarded; revocation at the provider: {Revocation} (none: not attempted)")]
    private static partial void LogDiscarded(ILogger logger, string providerId, RevocationStatus? revocation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unconfirmed pending link for {ProviderId} kept for another run: revocation failed transiently")]
    private static partial void LogRevocationDeferred(ILogger logger, string providerId);
}
