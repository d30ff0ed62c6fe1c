using System.Globalization;
using System.Security.Cryptography;
using Azure;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Refresh;

/// <summary>
/// The due index in Table Storage: RowKey = due time (UTC ticks, 19 digits) + '.' + a random suffix, so one
/// range query over a partition returns exactly the due entries, earliest first. Reads grow with the number of
/// due links, not the number of links.
/// </summary>
public sealed class TableRefreshSchedule(TableHandle table) : IRefreshSchedule
{
    /// <summary>One partition: ~2,000 entities/s per partition is far beyond what a sweep reads or writes.</summary>
    private const string Partition = "due";

    public Task<string> AddAsync(AccountLink link, DateTimeOffset dueAt, CT ct) =>
        table.RunAsync(async client =>
        {
            var key = KeyFor(dueAt);
            try
            {
                await client.AddEntityAsync(new TableEntity(Partition, key)
                {
                    ["UserId"] = link.UserId,
                    ["ProviderId"] = link.ProviderId,
                    ["AccountId"] = link.AccountId,
                    ["DueAt"] = dueAt,
                }, ct);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // The key carries 48 random bits, so it exists only because an earlier attempt of this very insert
                // committed and its answer was lost: the pipeline retried a POST (Table service docs, "Query timeout
                // and pagination": a write can succeed while the client sees an error).
            }

            return key;
        }, ct);

    public Task RemoveAsync(string dueKey, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(Partition, dueKey, "*", ct);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Already gone.
            }

            return true;
        }, ct);

    /// <summary>The first <paramref name="max"/> entries due at or before <paramref name="now"/>.</summary>
    public Task<IReadOnlyList<DueEntry>> ListDueAsync(DateTimeOffset now, int max, CT ct) => ListDueAsync(now, max, null, ct);

    public Task<IReadOnlyList<DueEntry>> ListDueAsync(DateTimeOffset now, int max, string? after, CT ct) =>
        table.RunAsync<IReadOnlyList<DueEntry>>(async client =>
        {
            // '~' sorts after the hex suffix, so every entry due at or before "now" is below this bound; "after" pages
            // forward from the last entry a caller saw, so entries it could not move never hide the ones behind them.
            var bound = TableFilter.LessThan("RowKey", Ticks(now) + ".~");
            var filter = after is null
                ? TableFilter.And(TableFilter.Equal("PartitionKey", Partition), bound)
                : TableFilter.And(TableFilter.Equal("PartitionKey", Partition), TableFilter.GreaterThan("RowKey", after), bound);

            var entries = new List<DueEntry>();
            await foreach (var entity in client.QueryAsync(filter, pageSize: Math.Min(max, 1000), ct))
            {
                entries.Add(new DueEntry(entity.RowKey, entity.GetString("UserId")!, entity.GetString("ProviderId")!, entity.GetString("AccountId")!,
                    entity.GetDateTimeOffset("DueAt") ?? now)
                {
                    WrittenAt = entity.Timestamp,
                });
                if (entries.Count >= max)
                {
                    break;
                }
            }

            return entries;
        }, ct);

    private static string KeyFor(DateTimeOffset dueAt) => Ticks(dueAt) + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    private static string Ticks(DateTimeOffset instant) => instant.UtcTicks.ToString("D19", CultureInfo.InvariantCulture);
}
