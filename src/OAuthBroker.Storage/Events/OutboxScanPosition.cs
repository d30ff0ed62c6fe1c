using System.Globalization;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// Where the outbox scan of the link table stands, shared by every instance through <see cref="OAuthBroker.Refresh.IBrokerStateStore"/>:
/// in the middle of a pass (the next page's continuation, and the pass's own <c>Timestamp</c> bound, which every page of
/// it sends again: a continuation is to be resent with the query it came from, Query Timeout and Pagination,
/// learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination), or done with one (when, on the storage
/// service's clock, which every instance reads alike).
/// </summary>
internal sealed record OutboxScanPosition(TableContinuation? Next, DateTimeOffset? WrittenBefore, DateTimeOffset? CompletedAt)
{
    /// <summary>No pass yet, or a stored value this version cannot read: a new pass starts.</summary>
    public static OutboxScanPosition None { get; } = new(null, null, null);

    public static OutboxScanPosition Within(TableContinuation next, DateTimeOffset writtenBefore) => new(next, writtenBefore, null);

    public static OutboxScanPosition Completed(DateTimeOffset at) => new(null, null, at);

    /// <summary><c>next {ticks} {partition} {row}</c> (keys escaped, the row key may be empty) or <c>done {ticks}</c>.</summary>
    public string Format() => Next is { } next
        ? string.Join(' ', "next", Ticks(WrittenBefore!.Value), Uri.EscapeDataString(next.NextPartitionKey), Uri.EscapeDataString(next.NextRowKey ?? ""))
        : "done " + Ticks(CompletedAt!.Value);

    public static OutboxScanPosition Parse(string? value)
    {
        var parts = value?.Split(' ') ?? [];
        return parts switch
        {
            ["next", var ticks, var partition, var row] when TryTicks(ticks, out var bound) && partition.Length > 0 =>
                Within(new TableContinuation(Uri.UnescapeDataString(partition), row.Length > 0 ? Uri.UnescapeDataString(row) : null), bound),
            ["done", var ticks] when TryTicks(ticks, out var at) => Completed(at),
            _ => None,
        };
    }

    private static string Ticks(DateTimeOffset at) => at.UtcTicks.ToString(CultureInfo.InvariantCulture);

    private static bool TryTicks(string text, out DateTimeOffset at)
    {
        var ok = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ticks <= DateTimeOffset.MaxValue.UtcTicks;
        at = ok ? new DateTimeOffset(ticks, TimeSpan.Zero) : default;
        return ok;
    }
}
