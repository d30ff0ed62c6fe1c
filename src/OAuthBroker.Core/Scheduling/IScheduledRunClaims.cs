namespace OAuthBroker.Scheduling;

/// <summary>
/// At most one scheduled run per occurrence of the schedule, across every instance and however the run was triggered:
/// a run first claims its occurrence (the latest one due, by the storage clock) and is skipped when a later occurrence
/// is claimed, or when its own occurrence was finished or is still held by a live run. So a run triggered early, twice,
/// or by someone who found a way to call the timer's route, does no more work than the schedule itself would — and a
/// run that died or failed does not take its occurrence with it: the Functions host records a timer occurrence as done
/// only after the function returns (azure-functions-host, TimerListener.cs, the schedule status written after the
/// invocation), so after a crash it fires the same occurrence again as past due, and that run must be able to claim it.
/// </summary>
public interface IScheduledRunClaims
{
    /// <summary>
    /// The claim when this caller now holds <paramref name="occurrence"/> until <paramref name="holdUntil"/> (the write
    /// is conditional, so of two concurrent callers only one wins); null when the run should be skipped.
    /// </summary>
    Task<ScheduledRunClaim?> TryClaimAsync(DateTimeOffset occurrence, DateTimeOffset now, DateTimeOffset holdUntil, CT ct);

    /// <summary>The run finished (even with some links failed): its occurrence is done.</summary>
    Task FinishAsync(ScheduledRunClaim claim, CT ct);

    /// <summary>The run threw: its occurrence may be claimed again at once (an operator's or the host's next call).</summary>
    Task ReleaseAsync(ScheduledRunClaim claim, CT ct);
}
