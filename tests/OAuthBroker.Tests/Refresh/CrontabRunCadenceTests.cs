using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Host.Refresh;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The gaps of real six-field schedules as the broker measures them (<see cref="ScheduleGaps"/>: the firing days × one set
/// of times of day), against every occurrence walked one by one with NCrontab, the parser the timer and the in-process
/// scheduler use; and the next run's start under each scheduler.
/// </summary>
public sealed class CrontabRunCadenceTests
{
    /// <summary>A Monday, midnight UTC: a week-keyed schedule's weekend comes after five days of dense firing.</summary>
    private static readonly DateTime Monday = new(2026, 11, 23, 0, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("0 */5 * * * *", 300, 300)]
    [InlineData("*/10 * * * * *", 10, 10)]
    [InlineData("0 0,30 * * * *", 1_800, 1_800)]
    [InlineData("0 0 9 * * 1-5", 86_400, 3 * 86_400)]
    [InlineData("*/10 * * * * 1-5", 10, 2 * 86_400 + 10)]
    [InlineData("0 15 10,14 * * *", 4 * 3_600, 20 * 3_600)]
    public void The_gaps_are_those_of_every_occurrence_walked_one_by_one(string schedule, int shortestSeconds, int longestSeconds)
    {
        var walked = Walk(schedule, Monday, TimeSpan.FromDays(15));
        var measured = ScheduleGaps.Measure(InProcessRefreshScheduler.Parse(schedule), Monday);

        measured.ShouldBe(walked);
        measured.ShouldBe(new ScheduleGaps(TimeSpan.FromSeconds(shortestSeconds), TimeSpan.FromSeconds(longestSeconds)));
    }

    /// <summary>The measurement does not depend on where in the pattern it starts (mid-week, mid-day, mid-gap).</summary>
    [Theory]
    [InlineData("*/10 * * * * 1-5")]
    [InlineData("0 0 9 * * 1-5")]
    [InlineData("0 15 10,14 * * *")]
    public void The_gaps_are_the_same_from_any_moment(string schedule)
    {
        var parsed = InProcessRefreshScheduler.Parse(schedule);
        var expected = ScheduleGaps.Measure(parsed, Monday);
        foreach (var offset in new[] { TimeSpan.FromHours(13.5), TimeSpan.FromDays(4.9), TimeSpan.FromDays(5.5), TimeSpan.FromDays(6) + TimeSpan.FromSeconds(7) })
        {
            ScheduleGaps.Measure(parsed, Monday + offset).ShouldBe(expected, $"from {Monday + offset:o}");
        }
    }

    /// <summary>
    /// Once a month is longer than a fortnight: the gaps run from February's 28 days to 31, every one of the eight years
    /// walked. The broker used to look 15 days ahead and call anything rarer "15 days".
    /// </summary>
    [Fact]
    public void A_monthly_schedule_has_its_real_gaps_not_the_window()
    {
        IRunCadence cadence = Cadence("0 0 3 1 * *", Monday);
        var measured = cadence.LongestGap;

        measured.ShouldBe(TimeSpan.FromDays(31));
        ScheduleGaps.Measure(InProcessRefreshScheduler.Parse("0 0 3 1 * *"), Monday)
            .ShouldBe(Walk("0 0 3 1 * *", Monday, ScheduleGaps.Horizon));
        ScheduleGaps.Measure(InProcessRefreshScheduler.Parse("0 0 3 1 * *"), Monday).Shortest.ShouldBe(TimeSpan.FromDays(28));
    }

    [Fact]
    public void A_leap_day_schedule_is_four_years_apart()
    {
        // 29 February 2028 and 2032 (1,461 days); the walk over the horizon sees both.
        var measured = ScheduleGaps.Measure(InProcessRefreshScheduler.Parse("0 0 0 29 2 *"), Monday);
        measured.ShouldBe(Walk("0 0 0 29 2 *", Monday, ScheduleGaps.Horizon));
        measured.Longest.ShouldBe(TimeSpan.FromDays(1_461));
    }

    /// <summary>
    /// Every ten seconds on weekdays: 345,600 occurrences between two weekends. The broker used to stop after 30,000 of
    /// them (3.5 days), so a cadence measured early in the week never saw the weekend and reported ten seconds.
    /// </summary>
    [Fact]
    public void A_dense_weekday_schedule_shows_its_weekend_gap_from_a_Monday()
    {
        IRunCadence cadence = Cadence("*/10 * * * * 1-5", Monday);

        cadence.LongestGap.ShouldBe(TimeSpan.FromDays(2) + TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Every_second_is_measured_without_walking_five_years_of_seconds()
    {
        var measured = ScheduleGaps.Measure(InProcessRefreshScheduler.Parse("* * * * * *"), Monday);
        measured.ShouldBe(new ScheduleGaps(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
    }

    /// <summary>
    /// Under the Functions host the runs follow the timer's schedule (<c>REFRESH_SCHEDULE</c>, what
    /// <see cref="RefreshTokensFunction"/> reads), not a different <c>Refresh:Schedule</c>.
    /// </summary>
    [Fact]
    public void Under_the_Functions_host_the_cadence_is_the_timers_schedule()
    {
        var hosted = Cadence("0 * * * * *", Monday, new() { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7071", [RefreshScheduleSetting.Name] = "0 */5 * * * *" });
        hosted.Schedule.ShouldBe("0 */5 * * * *");
        hosted.LongestGap.ShouldBe(TimeSpan.FromMinutes(5));

        var standalone = Cadence("0 * * * * *", Monday, new() { [RefreshScheduleSetting.Name] = "0 */5 * * * *" });
        standalone.Schedule.ShouldBe("0 * * * * *", "standalone, the in-process scheduler runs Refresh:Schedule");
        standalone.LongestGap.ShouldBe(TimeSpan.FromMinutes(1));
    }

    /// <summary>
    /// The Functions timer counts the next occurrence from the run's start and fires at once when the run ended past it
    /// (TimerListener); the in-process scheduler waits for the first occurrence after the run's end.
    /// </summary>
    [Fact]
    public void A_run_that_outlasts_the_gap_delays_the_next_run_as_its_scheduler_does()
    {
        var timer = Cadence("0 */5 * * * *", Monday, new() { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7071" });
        timer.NextRunStartsWithin(TimeSpan.FromMinutes(2)).ShouldBe(TimeSpan.FromMinutes(5), "the run ends before the next occurrence");
        timer.NextRunStartsWithin(TimeSpan.FromMinutes(7)).ShouldBe(TimeSpan.FromMinutes(7), "the passed occurrence fires as soon as the run ends");

        var inProcess = Cadence("0 */5 * * * *", Monday);
        inProcess.NextRunStartsWithin(TimeSpan.FromMinutes(2)).ShouldBe(TimeSpan.FromMinutes(5));
        inProcess.NextRunStartsWithin(TimeSpan.FromMinutes(7)).ShouldBe(TimeSpan.FromMinutes(12), "the first occurrence after the run's end");
    }

    /// <summary>The cadence the app registers, built the way the app builds it (the container picks its constructor).</summary>
    private static CrontabRunCadence Cadence(string schedule, DateTime now, Dictionary<string, string?>? settings = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? []).Build();
        var clock = new ManualClock(now - DateTime.UtcNow);
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<TimeProvider>(clock)
            .AddSingleton(Options.Create(new RefreshOptions { Schedule = schedule }))
            .AddSingleton<IRunCadence, CrontabRunCadence>()
            .BuildServiceProvider();
        return (CrontabRunCadence)services.GetRequiredService<IRunCadence>();
    }

    /// <summary>Every occurrence from <paramref name="from"/> over <paramref name="window"/>, one by one: the gaps between consecutive ones.</summary>
    private static ScheduleGaps Walk(string schedule, DateTime from, TimeSpan window)
    {
        var occurrences = InProcessRefreshScheduler.Parse(schedule).GetNextOccurrences(from.AddSeconds(-1), from + window).ToList();
        var gaps = occurrences.Zip(occurrences.Skip(1), (a, b) => b - a).ToList();
        return new ScheduleGaps(gaps.Min(), gaps.Max());
    }
}
