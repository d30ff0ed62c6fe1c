using NCrontab;

namespace OAuthBroker.Host.Refresh;

/// <summary>
/// The shortest and longest time between consecutive occurrences of a six-field schedule, measured without walking every
/// occurrence (every second for five years would be 158 million). It relies on the shape of a crontab: the second, minute
/// and hour fields do not depend on the date, and the day, month and day-of-week fields do not depend on the time
/// (NCrontab matches each field on its own; in UTC there is no daylight saving to shift a day). So the occurrences are
/// the days the schedule fires on × one set of times of day, and every gap is either between two times of one day or
/// from a day's last time to the next firing day's first. That set is read once (at most 86,400 times), the firing days
/// one call each (at most 2,930). <c>CrontabRunCadenceTests</c> checks the result against every occurrence walked one by one.
/// </summary>
public readonly record struct ScheduleGaps(TimeSpan Shortest, TimeSpan Longest)
{
    /// <summary>
    /// How far ahead the firing days are read: eight years and a little more, so every month length and weekday pattern
    /// has come round, and two leap days (29 February is four years apart, 1,461 days). A schedule rarer than that (29
    /// February on a Monday) is reported with a longest gap of at least what is left of the horizon after its last
    /// firing, and never more than the horizon: far beyond anything a gap is compared with.
    /// </summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(8 * 366 + 2);

    public static ScheduleGaps Measure(CrontabSchedule schedule, DateTime from)
    {
        var end = from + Horizon;
        var days = FiringDays(schedule, from.Date, end);
        if (days.Count == 0)
        {
            return new ScheduleGaps(Horizon, Horizon);
        }

        // The times of day, read on the first firing day (the same on every firing day, see above).
        var times = schedule.GetNextOccurrences(days[0].AddSeconds(-1), days[0].AddDays(1)).Select(o => o - days[0]).ToList();
        var spanOfDay = times[^1] - times[0];
        var shortest = TimeSpan.MaxValue;
        var longest = TimeSpan.Zero;
        for (var i = 1; i < times.Count; i++)
        {
            Include(times[i] - times[i - 1]);
        }

        for (var i = 1; i < days.Count; i++)
        {
            Include(days[i] - days[i - 1] - spanOfDay);
        }

        // The gap that holds the end of the horizon is at least what is left of it after the last firing: a schedule that
        // stops firing within the horizon (a leap day on a Monday comes every 28 years) has a gap at least this long.
        var afterLast = end - (days[^1] + times[^1]);
        longest = afterLast > longest ? afterLast : longest;
        return new ScheduleGaps(shortest == TimeSpan.MaxValue ? Horizon : shortest, longest > Horizon ? Horizon : longest);

        void Include(TimeSpan gap)
        {
            shortest = gap < shortest ? gap : shortest;
            longest = gap > longest ? gap : longest;
        }
    }

    /// <summary>The days (midnight UTC) the schedule fires on, from <paramref name="day"/> until <paramref name="end"/>: one look-up per firing day.</summary>
    private static List<DateTime> FiringDays(CrontabSchedule schedule, DateTime day, DateTime end)
    {
        var days = new List<DateTime>();
        while (day < end)
        {
            // NCrontab's next occurrence is strictly after its base time, and it answers endTime when there is none.
            var next = schedule.GetNextOccurrence(day.AddSeconds(-1), end);
            if (next >= end)
            {
                break;
            }

            days.Add(next.Date);
            day = next.Date.AddDays(1);
        }

        return days;
    }
}
