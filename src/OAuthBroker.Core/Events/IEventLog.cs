namespace OAuthBroker.Events;

/// <summary>
/// The broker's record of every event, in the order it was recorded. Link events reach it from the link rows' outboxes
/// (written by the link store); provider-wide events, which change no row, are appended directly.
/// </summary>
public interface IEventLog
{
    /// <summary>Appends <paramref name="linkEvent"/> at the end of the log and returns its cursor.</summary>
    Task<string> AppendAsync(LinkEvent linkEvent, CT ct);

    /// <summary>
    /// Appends <paramref name="linkEvent"/> at a cursor after <paramref name="after"/> (a cursor this log returned; null:
    /// none) even when this instance's clock is behind the one that appended there, and returns its cursor.
    /// </summary>
    Task<string> AppendAsync(LinkEvent linkEvent, string? after, CT ct);

    /// <summary>
    /// Up to <paramref name="max"/> events after <paramref name="after"/> (null: from the start), oldest first. Only events
    /// recorded at least <see cref="EventsOptions.ListingDelay"/> ago are listed, so a later listing never finds an event
    /// before a cursor it already returned.
    /// </summary>
    Task<IReadOnlyList<LoggedEvent>> ListAsync(string? after, int max, CT ct);

    /// <summary>The cursor of the log's end as a listing sees it now: what a new endpoint starts after.</summary>
    string CurrentCursor();
}
