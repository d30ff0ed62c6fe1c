using Azure;
using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// One row per provider in the events table's <c>provider</c> partition, holding its last credentials transition and
/// that transition's event. A transition is a conditional write of the row (insert, or replace under its ETag), so of
/// several instances whose breakers open (or whose refreshes succeed again) at once, one records the event. The row is
/// also the event's outbox: it is appended to the log after the row write and marked <c>Logged</c>; one whose writer
/// stopped in between is appended by <see cref="RecoverAsync"/>, or by the next transition's writer before it replaces the
/// row (with its id, so receivers deduplicate a second copy). Log cursors come from each instance's estimate of the
/// service clock, which differ, so the row also keeps the cursor its transition was logged at, and the next transition's
/// copies are appended after it.
/// </summary>
public sealed class TableProviderCredentialsState(TableHandle table, IEventLog log) : IProviderCredentialsState
{
    private const int MaxAttempts = 5;

    /// <summary>The log cursor of the row's transition, written with its <c>Logged</c> mark.</summary>
    private const string LoggedAt = "LoggedAt";

    /// <summary>The log cursor of the transition the row's one replaced: its copy goes after it (<see cref="IEventLog.AppendAsync(LinkEvent, string?, CT)"/>).</summary>
    private const string After = "After";

    public async Task<TransitionOutcome> TransitionAsync(LinkEvent transition, CT ct)
    {
        var recorded = await RecordAsync(transition, ct);
        if (recorded.Outcome != TransitionOutcome.Recorded)
        {
            return recorded.Outcome;
        }

        try
        {
            await AppendAsync(transition, recorded.After, recorded.ETag!, ct);
        }
        catch (StorageUnavailableException)
        {
            // Note: recorded, not yet in the log; the row keeps it for recovery.
        }

        return TransitionOutcome.Recorded;
    }

    /// <summary>Appends the transitions recorded at or before <paramref name="olderThan"/> that never reached the log.</summary>
    public Task<int> RecoverAsync(DateTimeOffset olderThan, CT ct) =>
        table.RunAsync(async client =>
        {
            var unlogged = new List<TableEntity>();
            var filter = TableFilter.And(TableFilter.Equal("PartitionKey", EventTableKeys.ProviderStates), "Logged eq false", TableFilter.LessThanOrEqual("Timestamp", olderThan));
            await foreach (var row in client.QueryAsync(filter, ct: ct))
            {
                unlogged.Add(row);
            }

            foreach (var row in unlogged)
            {
                await AppendAsync(LinkEventJson.Read(row.GetString("Json")!), row.GetString(After), row.ETag!, ct);
            }

            return unlogged.Count;
        }, ct);

    /// <summary>
    /// The row's new ETag when this call made the transition, or why it did not. A row whose transition
    /// is recorded but not yet logged (its writer stopped, or has not got there yet) has that transition appended first:
    /// replacing it would drop it, or let its writer log it after ours. So each recorded transition reaches the log, and
    /// the first copy of each comes after the one it replaced (its writer, running on, may append a second copy later,
    /// under the same id). A row whose <c>Logged</c> mark changed under us is read again; one holding another transition
    /// than the one we read ends the call.
    /// </summary>
    private Task<Recorded> RecordAsync(LinkEvent transition, CT ct) =>
        table.RunAsync(async client =>
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var row = await client.GetEntityAsync(EventTableKeys.ProviderStates, transition.ProviderId, ct);
                var current = row?.GetString("Type");
                var readId = row?.GetString("EventId");
                if (current == transition.Type || (current is null && transition.Type == LinkEventTypes.ProviderCredentialsAccepted))
                {
                    return Recorded.Not(TransitionOutcome.AlreadySo);
                }

                if (row is not null && row.GetBoolean("Logged") == false)
                {
                    await AppendAsync(LinkEventJson.Read(row.GetString("Json")!), row.GetString(After), row.ETag!, ct);
                    continue;
                }

                var entity = new TableEntity(EventTableKeys.ProviderStates, transition.ProviderId)
                {
                    ["Type"] = transition.Type,
                    ["EventId"] = transition.Id,
                    ["Json"] = LinkEventJson.SerializeToString(transition),
                    ["Logged"] = false,
                    [After] = row?.GetString(LoggedAt),
                };
                try
                {
                    var etag = row is null
                        ? await client.AddEntityAsync(entity, ct)
                        : await client.UpdateEntityAsync(entity, row.ETag!, TableUpdateMode.Replace, ct);
                    return new Recorded(TransitionOutcome.Recorded, etag, entity.GetString(After));
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412)
                {
                    // Ours committed and its answer was lost (the storage client's retry then meets our own write), or the
                    // row changed since we read it: the row holding our event id tells the two apart.
                    var now = await client.GetEntityAsync(EventTableKeys.ProviderStates, transition.ProviderId, ct);
                    if (now?.GetString("EventId") == transition.Id)
                    {
                        return new Recorded(TransitionOutcome.Recorded, now.ETag!, now.GetString(After));
                    }

                    // Note: only a row still holding the transition we read (its Logged mark set meanwhile) is worth another
                    // try. Any other transition may have come in over ours: ours committed, its answer was late, and another
                    // instance logged it and recorded the next one. Writing ours again (same id) would put the row back to a
                    // state whose log copy receivers drop as a duplicate.
                    if (now?.GetString("EventId") != readId)
                    {
                        return Recorded.Not(now?.GetString("Type") == transition.Type ? TransitionOutcome.AlreadySo : TransitionOutcome.NotRecorded);
                    }
                }
            }

            // Note: the row kept changing under us (instances flipping at once); the state is another instance's now.
            return Recorded.Not(TransitionOutcome.NotRecorded);
        }, ct);

    private async Task AppendAsync(LinkEvent transition, string? after, string etag, CT ct)
    {
        var cursor = await log.AppendAsync(transition, after, ct);
        await table.RunAsync(async client =>
        {
            try
            {
                await client.UpdateEntityAsync(new TableEntity(EventTableKeys.ProviderStates, transition.ProviderId) { ["Logged"] = true, [LoggedAt] = cursor }, etag, TableUpdateMode.Merge, ct);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // A later transition replaced the row: it is that one's to log.
            }

            return true;
        }, ct);
    }

    /// <summary>What the row write did; when it recorded the transition, the row version holding it and the cursor its log copy goes after.</summary>
    private sealed record Recorded(TransitionOutcome Outcome, string? ETag = null, string? After = null)
    {
        public static Recorded Not(TransitionOutcome why) => new(why);
    }
}
