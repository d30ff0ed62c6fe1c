using NCrontab;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// Which occurrence of the six-field schedule a run at a given time stands for: the latest one at or before that time
/// plus <see cref="EarlyFiring"/>. The allowance lets a timer that fires a little before the storage clock reaches its
/// occurrence (instances' clocks differ from the storage service's) still claim that occurrence, not the previous one.
/// </summary>
public sealed class ScheduleOccurrences(CrontabSchedule schedule)
{
    public static readonly TimeSpan EarlyFiring = TimeSpan.FromMinutes(1);

    /// <summary>Longer than any gap a six-field schedule can have (29 February every four years, and a little more).</summary>
    private static readonly TimeSpan LongestGap = TimeSpan.FromDays(5 * 366);

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
