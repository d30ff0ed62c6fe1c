namespace OAuthBroker.Scheduling;

/// <summary>
/// At most one scheduled run per occurrence of the schedule, across every instance and however the run was triggered:
/// a run first claims its occurrence (the latest one due, by the storage clock) and is skipped when that occurrence,
/// or a later one, is already claimed. So a run triggered early, twice, or by someone who found a way to call the
/// timer's route, does no more work than the schedule itself would.
/// </summary>
public interface IScheduledRunClaims
{
    /// <summary>
    /// True when this caller now holds <paramref name="occurrence"/> (nothing claimed it or a later one; the write is
    /// conditional, so of two concurrent callers only one wins); false when the run should be skipped.
    /// </summary>
    Task<bool> TryClaimAsync(DateTimeOffset occurrence, CT ct);
}
