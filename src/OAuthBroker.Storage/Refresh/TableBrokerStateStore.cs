using Azure;
using OAuthBroker.Refresh;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Refresh;

/// <summary>
/// Shared broker state as single entities in their own partition of the schedule table (the due-index queries
/// filter on their own partition, so these rows never show up there).
/// </summary>
public sealed class TableBrokerStateStore(TableHandle table) : IBrokerStateStore
{
    private const string Partition = "state";

    public Task<string?> GetAsync(string key, CT ct) =>
        table.RunAsync(async client => (await client.GetEntityAsync(Partition, key, ct))?.GetString("Value"), ct);

    public Task SetAsync(string key, string? value, CT ct) =>
        table.RunAsync(async client =>
        {
            if (value is not null)
            {
                await client.UpsertEntityAsync(new TableEntity(Partition, key) { ["Value"] = value }, TableUpdateMode.Replace, ct);
                return true;
            }

            try
            {
                await client.DeleteEntityAsync(Partition, key, "*", ct);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Nothing stored: same as removed.
            }

            return true;
        }, ct);
}
