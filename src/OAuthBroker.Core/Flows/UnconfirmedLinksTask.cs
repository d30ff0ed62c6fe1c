using Microsoft.Extensions.Logging;
using OAuthBroker.Providers;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Flows;

/// <summary>
/// Discards pending links nobody confirmed in time: revokes each grant at its provider where the provider allows it,
/// then deletes the sealed record. A revocation that fails transiently is retried by later runs for
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

            var revocation = await pendingLinks.RevokeAsync(pending);
            if (revocation == RevocationStatus.Unavailable && now - pending.ExpiresAt < RevocationRetryWindow)
            {
                LogRevocationDeferred(logger, pending.ProviderId);
                continue;
            }

            if (await store.TryConsumeAsync(pending, ct))
            {
                removed++;
                LogDiscarded(logger, pending.ProviderId, revocation);
            }
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Unconfirmed pending link for {ProviderId} discarded; revocation at the provider: {Revocation} (none: not attempted)")]
    private static partial void LogDiscarded(ILogger logger, string providerId, RevocationStatus? revocation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unconfirmed pending link for {ProviderId} kept for another run: revocation failed transiently")]
    private static partial void LogRevocationDeferred(ILogger logger, string providerId);
}
