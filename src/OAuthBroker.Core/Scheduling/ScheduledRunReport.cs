using OAuthBroker.Refresh;

namespace OAuthBroker.Scheduling;

/// <summary>What one scheduled run did: the sweep's report, items handled per housekeeping task, and the tasks that failed.</summary>
public sealed record ScheduledRunReport(SweepReport Sweep, IReadOnlyDictionary<string, int> Housekeeping, IReadOnlyList<string> FailedTasks)
{
    /// <summary>One line for logs and the Functions host's <c>Logs</c> array.</summary>
    public string Summary(bool pastDue) =>
        $"Scheduled run{(pastDue ? " (past due)" : "")}: {Sweep.Examined} due, {Sweep.Count(RefreshOutcome.Refreshed)} refreshed, " +
        $"{Sweep.Count(RefreshOutcome.ReauthRequired)} need the user, {Sweep.Errors} errors, stopped early: {Sweep.StoppedEarly}" +
        (Housekeeping.Count == 0 ? "" : "; housekeeping: " + string.Join(", ", Housekeeping.Select(h => $"{h.Key} {h.Value}"))) +
        (FailedTasks.Count == 0 ? "." : $"; failed: {string.Join(", ", FailedTasks)}.");
}
