using NCrontab;
using OAuthBroker.Host.Refresh;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// Which occurrence of the six-field schedule a run at a given time stands for: the latest one at or before that time
/// plus <see cref="EarlyFiring"/>.
/// <para>The allowance lets a timer that fires a little before its occurrence still claim that occurrence, not the
/// previous one. Timers do fire early: the Functions timer extension says so where it computes the next occurrence
/// (azure-webjobs-sdk-extensions <c>src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs</c>,
/// <c>InvokeJobFunction</c>: "If the trigger fired before it was officially scheduled (likely under 1 second due to
/// clock skew)"), its <c>System.Timers.Timer</c> counting an interval worked out from the instance's wall clock. And the
/// run reads the time from another clock: the storage service's, which this instance knows only as a lower bound to
/// the second (<see cref="OAuthBroker.Storage.Tables.TableServerClock"/>), while the instance's own clock may run ahead
/// of it.</para>
/// <para>The allowance is a quarter of the schedule's shortest gap, at most <see cref="MaxEarlyFiring"/>: a run fired up
/// to that much early claims its own occurrence, and one fired up to the rest of the gap late (a slow start, a busy
/// host) still claims its own, not the next. With a minute between occurrences, a run fired half a second late and the
/// next one fired 50 ms early each get theirs; a whole minute of allowance would give both the second.</para>
/// </summary>
public sealed class ScheduleOccurrences(CrontabSchedule schedule, TimeSpan shortestGap)
{
    /// <summary>The allowance for a schedule whose occurrences are at least four minutes apart.</summary>
    public static readonly TimeSpan MaxEarlyFiring = TimeSpan.FromMinutes(1);

    /// <summary>Longer than any gap a six-field schedule can have (29 February every four years, and a little more).</summary>
    private static readonly TimeSpan LongestGap = TimeSpan.FromDays(5 * 366);

    /// <summary>How early a run may fire and still stand for the coming occurrence.</summary>
    public TimeSpan EarlyFiring { get; } = shortestGap / 4 < MaxEarlyFiring ? shortestGap / 4 : MaxEarlyFiring;

    /// <summary>The occurrences of <paramref name="expression"/>, its shortest gap measured from <paramref name="from"/> (<see cref="ScheduleGaps"/>).</summary>
    public static ScheduleOccurrences Of(string expression, DateTime from)
    {
        var schedule = InProcessRefreshScheduler.Parse(expression);
        return new ScheduleOccurrences(schedule, ScheduleGaps.Measure(schedule, from).Shortest);
    }

    public DateTimeOffset OccurrenceFor(DateTimeOffset now)
    {
        var at = (now + EarlyFiring).UtcDateTime;
        // Widen the window backwards until it holds an occurrence; each window is enumerated once, and only the
        // first one is long for a frequent schedule.
        for (var window = TimeSpan.FromMinutes(1); ; window *= 2)
        {
            var from = at - window;
            var latest = schedule.GetNextOccurrences(from, at.AddTicks(1)).Cast<DateTime?>().LastOrDefault();
            if (latest is { } occurrence)
            {
                return new DateTimeOffset(DateTime.SpecifyKind(occurrence, DateTimeKind.Utc));
            }

            if (window > LongestGap)
            {
                throw new InvalidOperationException("The schedule has no occurrence in the last five years.");
            }
        }
    }
}
