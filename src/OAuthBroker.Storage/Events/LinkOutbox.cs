using Azure;
using OAuthBroker.Events;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// What the link store needs to keep its rows' outboxes: hints (written before a row that carries events, removed once
/// the log holds them) and the log itself. A hint is written first, as the due index is, so a crash at any point leaves
/// either no events or a hint that leads to them.
/// </summary>
public sealed class LinkOutbox(TableHandle table, IEventLog log, TimeProvider time)
{
    public IEventLog Log => log;

    /// <summary>Writes (or renews) the hint for a row; returns its ETag, which only this writer's removal may match.</summary>
    public Task<string> HintAsync(string linkReference, CT ct) =>
        table.RunAsync(client => client.UpsertEntityAsync(new TableEntity(EventTableKeys.Outbox, EventTableKeys.HintKey(linkReference))
        {
            ["Reference"] = linkReference,
            ["At"] = time.GetUtcNow(),
        }, TableUpdateMode.Replace, ct), ct);

    /// <summary>Removes a hint if nobody renewed it since <paramref name="etag"/> (a renewal means another writer's events may be pending).</summary>
    public Task RemoveHintAsync(string linkReference, string etag, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(EventTableKeys.Outbox, EventTableKeys.HintKey(linkReference), etag, ct);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Gone, or renewed by another writer: theirs to remove.
            }

            return true;
        }, ct);

    /// <summary>
    /// Hints written at or before <paramref name="olderThan"/> on the storage service's clock (their <c>Timestamp</c>, which
    /// the service sets; <c>At</c> is the writer's own clock, for operators): (reference, hint ETag).
    /// </summary>
    public Task<IReadOnlyList<(string Reference, string ETag)>> StaleHintsAsync(DateTimeOffset olderThan, int max, CT ct) =>
        table.RunAsync<IReadOnlyList<(string, string)>>(async client =>
        {
            var hints = new List<(string, string)>();
            var filter = TableFilter.And(TableFilter.Equal("PartitionKey", EventTableKeys.Outbox), TableFilter.LessThanOrEqual("Timestamp", olderThan));
            await foreach (var entity in client.QueryAsync(filter, ct: ct))
            {
                if (entity.GetString("Reference") is { } reference)
                {
                    hints.Add((reference, entity.ETag!));
                    if (hints.Count >= max)
                    {
                        break;
                    }
                }
            }

            return hints;
        }, ct);
}
