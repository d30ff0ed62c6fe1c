using Azure;
using OAuthBroker.Events;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// Delivery queues in the events table, one partition per endpoint (so endpoints never contend), plus a dead-letter
/// partition per endpoint. A queue partition holds only what is still being tried, so reading it whole stays cheap.
/// </summary>
public sealed class TableDeliveryStore(TableHandle table) : IDeliveryStore
{
    public Task<string?> GetCursorAsync(string endpoint, CT ct) =>
        table.RunAsync(async client => (await client.GetEntityAsync(EventTableKeys.Cursors, endpoint, ct))?.GetString("Cursor"), ct);

    public Task SetCursorAsync(string endpoint, string cursor, CT ct) =>
        table.RunAsync(client => client.UpsertEntityAsync(new TableEntity(EventTableKeys.Cursors, endpoint) { ["Cursor"] = cursor }, TableUpdateMode.Replace, ct), ct);

    public Task EnqueueAsync(string endpoint, LoggedEvent logged, DateTimeOffset now, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.AddEntityAsync(ToEntity(EventTableKeys.Queue(endpoint), new PendingDelivery
                {
                    Endpoint = endpoint,
                    Logged = logged,
                    Attempts = 0,
                    FirstQueuedAt = now,
                    NextAttemptAt = now,
                }), ct);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Queued by an earlier run that stopped before moving the endpoint's cursor.
            }

            return true;
        }, ct);

    public Task<IReadOnlyList<PendingDelivery>> DueAsync(string endpoint, DateTimeOffset now, int max, CT ct) =>
        table.RunAsync<IReadOnlyList<PendingDelivery>>(async client =>
        {
            var due = new List<PendingDelivery>();
            await foreach (var entity in client.QueryAsync(TableFilter.Equal("PartitionKey", EventTableKeys.Queue(endpoint)), ct: ct))
            {
                var delivery = FromEntity(endpoint, entity);
                if (delivery.NextAttemptAt <= now)
                {
                    due.Add(delivery);
                    if (due.Count >= max)
                    {
                        break;
                    }
                }
            }

            return due;
        }, ct);

    public Task CompleteAsync(PendingDelivery delivery, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(EventTableKeys.Queue(delivery.Endpoint), delivery.Logged.Cursor, delivery.ETag ?? "*", ct);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Another run got there too (at least once means sometimes twice).
            }

            return true;
        }, ct);

    public Task UpdateAsync(PendingDelivery delivery, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                if (delivery.DeadLettered)
                {
                    // Dead letter first, then out of the queue: a crash in between tries it once more, never loses it.
                    await client.UpsertEntityAsync(ToEntity(EventTableKeys.Dead(delivery.Endpoint), delivery), TableUpdateMode.Replace, ct);
                    await client.DeleteEntityAsync(EventTableKeys.Queue(delivery.Endpoint), delivery.Logged.Cursor, delivery.ETag ?? "*", ct);
                }
                else
                {
                    await client.UpdateEntityAsync(ToEntity(EventTableKeys.Queue(delivery.Endpoint), delivery), delivery.ETag ?? "*", TableUpdateMode.Replace, ct);
                }
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Another run recorded its own attempt meanwhile; its record stands.
            }

            return true;
        }, ct);

    public Task<IReadOnlyList<PendingDelivery>> DeadLettersAsync(string endpoint, CT ct) =>
        table.RunAsync<IReadOnlyList<PendingDelivery>>(async client =>
        {
            var dead = new List<PendingDelivery>();
            await foreach (var entity in client.QueryAsync(TableFilter.Equal("PartitionKey", EventTableKeys.Dead(endpoint)), ct: ct))
            {
                dead.Add(FromEntity(endpoint, entity));
            }

            return dead;
        }, ct);

    private static TableEntity ToEntity(string partition, PendingDelivery delivery) => new(partition, delivery.Logged.Cursor)
    {
        ["Json"] = LinkEventJson.SerializeToString(delivery.Logged.Event),
        ["Attempts"] = delivery.Attempts,
        ["FirstQueuedAt"] = delivery.FirstQueuedAt,
        ["NextAttemptAt"] = delivery.NextAttemptAt,
        ["LastError"] = delivery.LastError,
        ["DeadLettered"] = delivery.DeadLettered,
    };

    private static PendingDelivery FromEntity(string endpoint, TableEntity entity) => new()
    {
        Endpoint = endpoint,
        Logged = new LoggedEvent(entity.RowKey, LinkEventJson.Read(entity.GetString("Json")!)),
        Attempts = (int)(entity.GetInt64("Attempts") ?? 0),
        FirstQueuedAt = entity.GetDateTimeOffset("FirstQueuedAt") ?? DateTimeOffset.MinValue,
        NextAttemptAt = entity.GetDateTimeOffset("NextAttemptAt") ?? DateTimeOffset.MinValue,
        LastError = entity.GetString("LastError"),
        DeadLettered = entity.GetBoolean("DeadLettered") ?? false,
        ETag = entity.ETag,
    };
}
