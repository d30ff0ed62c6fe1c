using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Refresh;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// The event log in one partition of the events table, ordered by the storage service's clock (<see cref="ILeaseClock"/>),
/// which every instance reads alike. Appends are idempotent upserts; a writer retried after a lost answer can record an
/// event twice under two cursors, which is why receivers deduplicate by event id.
/// </summary>
public sealed class TableEventLog(TableHandle table, ILeaseClock clock, IOptions<EventsOptions> options) : IEventLog
{
    public Task<string> AppendAsync(LinkEvent linkEvent, CT ct) => AppendAsync(linkEvent, null, ct);

    /// <summary>
    /// At the service clock's time as this instance estimates it, or one tick after <paramref name="after"/> when that is
    /// later: the estimates are lower bounds that differ between instances (<see cref="TableServerClock"/>), so an event
    /// appended by another instance just before may stand at a later cursor than this instance's clock gives.
    /// </summary>
    public Task<string> AppendAsync(LinkEvent linkEvent, string? after, CT ct) =>
        table.RunAsync(async client =>
        {
            var at = clock.UtcNow;
            if (after is not null && EventTableKeys.RecordedAt(after) is { } previous && previous >= at)
            {
                at = previous.AddTicks(1);
            }

            var cursor = EventTableKeys.Cursor(at, linkEvent.Id);
            await client.UpsertEntityAsync(new TableEntity(EventTableKeys.Log, cursor)
            {
                ["EventId"] = linkEvent.Id,
                ["Type"] = linkEvent.Type,
                ["ProviderId"] = linkEvent.ProviderId,
                ["Json"] = LinkEventJson.SerializeToString(linkEvent),
            }, TableUpdateMode.Replace, ct);
            return cursor;
        }, ct);

    public string CurrentCursor() => EventTableKeys.CursorLimit(clock.UtcNow - options.Value.ListingDelay);

    public Task<IReadOnlyList<LoggedEvent>> ListAsync(string? after, int max, CT ct) =>
        table.RunAsync<IReadOnlyList<LoggedEvent>>(async client =>
        {
            // Note: only what is older than the listing delay, so no append still in flight can land before a cursor
            // this listing returns.
            var filter = TableFilter.And(
                TableFilter.Equal("PartitionKey", EventTableKeys.Log),
                TableFilter.GreaterThan("RowKey", after ?? ""),
                TableFilter.LessThan("RowKey", CurrentCursor()));
            var events = new List<LoggedEvent>();
            await foreach (var entity in client.QueryAsync(filter, Math.Min(max, 1000), ct))
            {
                events.Add(new LoggedEvent(entity.RowKey, LinkEventJson.Read(entity.GetString("Json")!)));
                if (events.Count >= max)
                {
                    break;
                }
            }

            return events;
        }, ct);
}
