namespace OAuthBroker.Scheduling;

/// <summary>
/// Work the scheduled run does after the refresh sweep: removing or repairing what has expired or been orphaned
/// (abandoned flows, unconfirmed links, secrets no row points at, undelivered events). Register with
/// <c>TryAddEnumerable(ServiceDescriptor.Singleton&lt;IHousekeepingTask, T&gt;())</c>; every registered task runs on
/// every scheduled run, under the Functions timer and standalone alike.
/// </summary>
public interface IHousekeepingTask
{
    /// <summary>A short, stable name for logs and the run's report (e.g. <c>expired-flows</c>).</summary>
    string Name { get; }

    /// <summary>
    /// One bounded pass. Stops starting new items at <paramref name="deadline"/> (whatever is left is found again by
    /// the next run) and returns how many items it removed or repaired.
    /// </summary>
    Task<int> RunAsync(DateTimeOffset deadline, CT ct);
}
