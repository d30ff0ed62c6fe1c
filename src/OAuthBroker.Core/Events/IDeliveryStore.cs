namespace OAuthBroker.Events;

/// <summary>Per endpoint: how far into the log it has been queued, and the events queued for it.</summary>
public interface IDeliveryStore
{
    Task<string?> GetCursorAsync(string endpoint, CT ct);

    Task SetCursorAsync(string endpoint, string cursor, CT ct);

    /// <summary>Queues <paramref name="logged"/> for <paramref name="endpoint"/>; already queued is fine (idempotent).</summary>
    Task EnqueueAsync(string endpoint, LoggedEvent logged, DateTimeOffset now, CT ct);

    /// <summary>Up to <paramref name="max"/> queued, not dead-lettered deliveries due at <paramref name="now"/>, in log order.</summary>
    Task<IReadOnlyList<PendingDelivery>> DueAsync(string endpoint, DateTimeOffset now, int max, CT ct);

    /// <summary>Removes a delivered event from the queue.</summary>
    Task CompleteAsync(PendingDelivery delivery, CT ct);

    /// <summary>Records a failed attempt (and whether the delivery is now dead-lettered).</summary>
    Task UpdateAsync(PendingDelivery delivery, CT ct);

    /// <summary>Dead-lettered deliveries of <paramref name="endpoint"/>, for operators.</summary>
    Task<IReadOnlyList<PendingDelivery>> DeadLettersAsync(string endpoint, CT ct);
}
