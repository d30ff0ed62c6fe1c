namespace OAuthBroker.Scheduling;

/// <summary>
/// How often the scheduled run comes (<c>Refresh:Schedule</c>, six-field NCRONTAB: the Functions timer's and the
/// in-process scheduler's alike). Work with a deadline between two runs needs it: a pending WhiteBIT link must renew a
/// 600 s refresh token in the run before the one that would find it expired. The host implements it, where the
/// schedule is parsed (Core keeps no scheduler dependency).
/// </summary>
public interface IRunCadence
{
    /// <summary>The longest time between two consecutive occurrences of the schedule.</summary>
    TimeSpan LongestGap { get; }
}
