using OAuthBroker.Scheduling;

namespace OAuthBroker.Flows;

/// <summary>
/// Deletes authorization flows and start tickets nobody came back for. Without it every abandoned flow would keep its
/// user id, return URL, PKCE verifier and nonce forever. A flow is kept for <see cref="Grace"/> after it expired, so
/// a late callback still gets the precise <c>flow_expired</c> answer rather than "unknown state".
/// </summary>
public sealed class ExpiredFlowStateTask(IAuthorizationFlowStore flows, IStartTicketStore tickets, TimeProvider time) : IHousekeepingTask
{
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(15);

    public string Name => "expired-flows";

    public async Task<int> RunAsync(DateTimeOffset deadline, CT ct)
    {
        var before = time.GetUtcNow() - Grace;
        var removed = 0;
        await foreach (var flow in flows.ListExpiredAsync(before, ct))
        {
            if (time.GetUtcNow() >= deadline)
            {
                return removed;
            }

            // Conditional on the version read: a callback consuming it at this moment wins, and nothing is counted twice.
            removed += await flows.TryConsumeAsync(flow, ct) ? 1 : 0;
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
