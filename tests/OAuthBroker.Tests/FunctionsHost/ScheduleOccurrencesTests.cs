using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Storage.Scheduling;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// Which occurrence a timer run claims (<see cref="ScheduleOccurrences"/>, as <see cref="RefreshTokensFunction"/> claims
/// it against Azurite): a run fired a little early (TimerListener: "likely under 1 second due to clock skew") stands for
/// its coming occurrence, and a run fired a little late for its own, whatever the gap of the schedule.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ScheduleOccurrencesTests(BrokerEnvironmentFixture fixture)
{
    private static readonly DateTime Monday = new(2026, 11, 23, 0, 0, 0, DateTimeKind.Utc);

    private static readonly DateTimeOffset Noon = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Every minute: the 12:00 run fired half a second late and the 12:01 run fired 50 ms early each claim their own
    /// occurrence. With a whole minute of allowance both stood for 12:01, and the 12:01 run was skipped as a repeat.
    /// A replay within a slot (past due, another instance) is still that slot's occurrence, and skipped.
    /// </summary>
    [Fact]
    public async Task Every_minute_a_late_run_and_the_next_early_one_each_claim_their_own_occurrence()
    {
        var occurrences = ScheduleOccurrences.Of("0 * * * * *", Monday);
        var claims = NewClaims();

        var lateAt = Noon.AddMilliseconds(500);
        var late = occurrences.OccurrenceFor(lateAt);
        late.ShouldBe(Noon);
        var first = await claims.TryClaimAsync(late, lateAt, lateAt.AddMinutes(4), default);
        first.ShouldNotBeNull();
        await claims.FinishAsync(first, default);

        var earlyAt = Noon.AddMinutes(1).AddMilliseconds(-50);
        var early = occurrences.OccurrenceFor(earlyAt);
        early.ShouldBe(Noon.AddMinutes(1));
        (await claims.TryClaimAsync(early, earlyAt, earlyAt.AddMinutes(4), default)).ShouldNotBeNull("the 12:01 run is not the 12:00 one");

        var replayAt = Noon.AddSeconds(20);
        occurrences.OccurrenceFor(replayAt).ShouldBe(Noon);
        (await claims.TryClaimAsync(occurrences.OccurrenceFor(replayAt), replayAt, replayAt.AddMinutes(4), default)).ShouldBeNull("a replay of 12:00");
        var replayOfSecondAt = Noon.AddMinutes(1).AddSeconds(30);
        (await claims.TryClaimAsync(occurrences.OccurrenceFor(replayOfSecondAt), replayOfSecondAt, replayOfSecondAt.AddMinutes(4), default)).ShouldBeNull("a replay of 12:01");
    }

    /// <summary>A quarter of the shortest gap, at most a minute: early by less claims the coming occurrence, late by the rest of the gap its own.</summary>
    [Theory]
    [InlineData("0 */5 * * * *", 60_000)]
    [InlineData("0 * * * * *", 15_000)]
    [InlineData("*/10 * * * * 1-5", 2_500)]
    [InlineData("* * * * * *", 250)]
    public void The_allowance_fits_the_schedules_shortest_gap(string schedule, int allowanceMilliseconds)
    {
        var occurrences = ScheduleOccurrences.Of(schedule, Monday);
        var allowance = TimeSpan.FromMilliseconds(allowanceMilliseconds);
        occurrences.EarlyFiring.ShouldBe(allowance);

        // Noon on a Monday is an occurrence of each.
        occurrences.OccurrenceFor(Noon - allowance).ShouldBe(Noon, "fired as early as allowed");
        occurrences.OccurrenceFor(Noon - allowance - TimeSpan.FromMilliseconds(1)).ShouldBeLessThan(Noon, "earlier still is the previous occurrence's late run");
    }

    private TableScheduledRunClaims NewClaims()
    {
        var client = new TableClient(
            new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"),
            "O" + Guid.NewGuid().ToString("N")[..20],
            new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey));
        return new TableScheduledRunClaims(new TableHandle(client));
    }
}
