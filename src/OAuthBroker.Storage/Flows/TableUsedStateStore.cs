using System.Runtime.CompilerServices;
using Azure;
using OAuthBroker.Flows;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Flows;

/// <summary>
/// Single-use markers of states in the flows table, keyed by the state's fingerprint in the two-character partitions
/// that stored flows used to have (so flow rows written before flows moved into the cookie are swept with them). A
/// marker is one Insert Entity, which the Table service refuses with 409 EntityAlreadyExists when the row exists
/// (Table service REST API, "Insert Entity"): the insert itself decides which of two concurrent callbacks wins.
/// </summary>
public sealed class TableUsedStateStore(TableHandle table) : IUsedStateStore
{
    public Task<bool> TryMarkUsedAsync(string stateFingerprint, DateTimeOffset expiresAt, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.AddEntityAsync(new TableEntity(FlowTableKeys.FlowPartition(stateFingerprint), stateFingerprint) { ["ExpiresAt"] = expiresAt }, ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                return false;
            }
        }, ct);

    public async IAsyncEnumerable<UsedState> ListExpiredAsync(DateTimeOffset before, [EnumeratorCancellation] CT ct)
    {
        foreach (var entity in await FlowTableKeys.ExpiredAsync(table, before, FlowTableKeys.IsFlowPartition, ct))
        {
            yield return new UsedState(entity.RowKey, entity.GetDateTimeOffset("ExpiresAt")!.Value, entity.ETag);
        }
    }

    public Task<bool> TryRemoveAsync(UsedState marker, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(FlowTableKeys.FlowPartition(marker.StateFingerprint), marker.StateFingerprint, marker.ETag ?? "*", ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                return false;
            }
        }, ct);
}
