namespace OAuthBroker.Scheduling;

/// <summary>
/// How often the scheduled run comes (<c>Refresh:Schedule</c>, six-field NCRONTAB: the Functions timer's and the
/// in-process scheduler's alike), and when the next run can start at the latest. Work with a deadline between two runs
/// needs it: a pending WhiteBIT link must renew a 600 s refresh token in the run before the one that would find it
/// expired. The host implements it, where the schedule is parsed and the scheduler is known (Core keeps no scheduler
/// dependency).
/// </summary>
public interface IRunCadence
{
    /// <summary>The longest time between two consecutive occurrences of the schedule.</summary>
    TimeSpan LongestGap { get; }

    /// <summary>The shortest time between two consecutive occurrences of the schedule.</summary>
    TimeSpan ShortestGap => LongestGap;

    /// <summary>
    /// The longest time from any moment in a run to the start of the next run, when the run may still last up to
    /// <paramref name="thisRunMayLast"/>. Runs never overlap, so a run that outlasts the gap delays the next one; how much
    /// depends on the scheduler. This default is the most a scheduler that waits for the first occurrence after the end
    /// of a run can take (the in-process scheduler): the run's end, then a whole gap.
    /// </summary>
    TimeSpan NextRunStartsWithin(TimeSpan thisRunMayLast) => thisRunMayLast + LongestGap;
}
