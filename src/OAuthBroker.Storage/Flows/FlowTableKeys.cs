using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Flows;

/// <summary>
/// How used-state markers, start tickets and pending links share the flows table without sharing partitions. Every
/// row is keyed by a SHA-256 fingerprint (base64url), and its first two characters spread each kind over 4,096
/// partitions (Table storage serves about 2,000 entities/s per partition: scalability-targets). Markers keep the
/// two-character partitions stored flows had; the other kinds carry a prefix, so a partition's length and prefix say
/// what it holds.
/// </summary>
internal static class FlowTableKeys
{
    public static string FlowPartition(string fingerprint) => fingerprint[..2];

    public static string TicketPartition(string fingerprint) => "tk-" + fingerprint[..2];

    public static string PendingLinkPartition(string fingerprint) => "pl-" + fingerprint[..2];

    public static bool IsFlowPartition(string partition) => partition.Length == 2;

    public static bool IsTicketPartition(string partition) => partition.Length == 5 && partition.StartsWith("tk-", StringComparison.Ordinal);

    public static bool IsPendingLinkPartition(string partition) => partition.Length == 5 && partition.StartsWith("pl-", StringComparison.Ordinal);

    /// <summary>
    /// Rows of one kind that expired before <paramref name="before"/>. A filter on a non-key property scans the table;
    /// it holds only live and recently expired state, since the housekeeping that calls this keeps it small.
    /// </summary>
    public static Task<List<TableEntity>> ExpiredAsync(TableHandle table, DateTimeOffset before, Func<string, bool> isKind, CT ct) =>
        table.RunAsync(async client =>
        {
            var rows = new List<TableEntity>();
            await foreach (var entity in client.QueryAsync(TableFilter.LessThanOrEqual("ExpiresAt", before), ct: ct))
            {
                if (isKind(entity.PartitionKey))
                {
                    rows.Add(entity);
                }
            }

            return rows;
        }, ct);
}
