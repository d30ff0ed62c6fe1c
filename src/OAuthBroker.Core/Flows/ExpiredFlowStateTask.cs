using OAuthBroker.Scheduling;

namespace OAuthBroker.Flows;

/// <summary>
/// Deletes single-use markers of states whose flows have expired, and start tickets nobody redeemed. A marker must
/// outlive its flow (until then it is what refuses a replayed cookie); after that the flow's own expiry refuses it, so
/// the marker is kept only for <see cref="Grace"/> more, which also covers clocks that differ between instances.
/// Without this task every used state and every abandoned ticket (user id, return URL) would be kept forever.
/// </summary>
public sealed class ExpiredFlowStateTask(IUsedStateStore usedStates, IStartTicketStore tickets, TimeProvider time) : IHousekeepingTask
{
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(15);

    public string Name => "expired-flows";

    public async Task<int> RunAsync(DateTimeOffset deadline, CT ct)
    {
        var before = time.GetUtcNow() - Grace;
        var removed = 0;
        await foreach (var marker in usedStates.ListExpiredAsync(before, ct))
        {
            if (time.GetUtcNow() >= deadline)
            {
                return removed;
            }

            removed += await usedStates.TryRemoveAsync(marker, ct) ? 1 : 0;
        }

        await foreach (var ticket in tickets.ListExpiredAsync(before, ct))
        {
            if (time.GetUtcNow() >= deadline)
            {
                return removed;
            }

            removed += await tickets.TryConsumeAsync(ticket, ct) ? 1 : 0;
        }

        return removed;
    }
}
