using System.Globalization;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// The partitions of the events table. <c>log</c>: every event, RowKey = cursor (the storage clock's UTC ticks when it
/// was recorded, 19 digits, then the event id), so one range query reads the log in order. <c>outbox</c>: a hint per
/// link row whose outbox may hold events. <c>cursor</c>: each endpoint's place in the log. <c>queue-{endpoint}</c> and
/// <c>dead-{endpoint}</c>: deliveries waiting and given up, RowKey = the event's cursor. <c>provider</c>: each provider's
/// last credentials transition, RowKey = the provider id.
/// </summary>
internal static class EventTableKeys
{
    public const string Log = "log";
    public const string Outbox = "outbox";
    public const string Cursors = "cursor";
    public const string ProviderStates = "provider";

    public static string Queue(string endpoint) => "queue-" + endpoint;

    public static string Dead(string endpoint) => "dead-" + endpoint;

    public static string Cursor(DateTimeOffset recordedAt, string eventId) =>
        recordedAt.UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + "-" + eventId;

    /// <summary>When the event at <paramref name="cursor"/> was recorded; null for a value that is no cursor.</summary>
    public static DateTimeOffset? RecordedAt(string cursor) =>
        cursor.Length > 19 && long.TryParse(cursor.AsSpan(0, 19), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ticks <= DateTimeOffset.MaxValue.UtcTicks
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : null;

    /// <summary>The greatest cursor recorded at or before <paramref name="at"/> ('~' sorts after every id character).</summary>
    public static string CursorLimit(DateTimeOffset at) => at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + "~";

    /// <summary>A link reference (<c>PartitionKey/RowKey</c>) as a RowKey: '/' is not allowed in keys, '|' is.</summary>
    public static string HintKey(string linkReference) => linkReference.Replace('/', '|');
}
