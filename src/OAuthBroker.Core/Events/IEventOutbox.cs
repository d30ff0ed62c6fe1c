namespace OAuthBroker.Events;

/// <summary>
/// The link rows' outboxes: events written with a state change and not yet copied to the <see cref="IEventLog"/>
/// because the writer stopped in between (a crash, storage failing). Found again through a hint written before the row.
/// </summary>
public interface IEventOutbox
{
    /// <summary>
    /// Copies the events of rows whose hint is older than <paramref name="olderThan"/> to the log and clears them, until
    /// <paramref name="deadline"/>. Returns how many rows it emptied.
    /// </summary>
    Task<int> RecoverAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct);
}
