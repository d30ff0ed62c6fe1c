using OAuthBroker.Storage.Scheduling;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Scheduling;

/// <summary>
/// One scheduled run per occurrence, against Azurite: never two at once, and never none because a run died. The
/// Functions host marks an occurrence done only after the function returns (azure-functions-host
/// TimerListener.cs), so a run that died is fired again as past due and must be able to claim its occurrence.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ScheduledRunClaimTests(BrokerEnvironmentFixture fixture)
{
    private static readonly DateTimeOffset Occurrence = new(2026, 11, 22, 18, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset HoldUntil = Occurrence.AddMinutes(6);

    private TableScheduledRunClaims NewClaims()
    {
        var client = new TableClient(
            new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"),
            "C" + Guid.NewGuid().ToString("N")[..20],
            new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey));
        return new TableScheduledRunClaims(new TableHandle(client));
    }

    [Fact]
    public async Task A_running_or_finished_occurrence_is_not_run_again_and_a_later_one_is()
    {
        var claims = NewClaims();
        var first = await claims.TryClaimAsync(Occurrence, Occurrence, HoldUntil, default);
        first.ShouldNotBeNull();

        (await claims.TryClaimAsync(Occurrence, Occurrence.AddMinutes(1), HoldUntil.AddMinutes(1), default)).ShouldBeNull("still running");
        (await claims.TryClaimAsync(Occurrence.AddMinutes(-5), Occurrence.AddMinutes(1), HoldUntil, default)).ShouldBeNull("an earlier occurrence");

        await claims.FinishAsync(first, default);
        (await claims.TryClaimAsync(Occurrence, HoldUntil.AddMinutes(1), HoldUntil.AddMinutes(7), default)).ShouldBeNull("finished, even after its hold");

        (await claims.TryClaimAsync(Occurrence.AddMinutes(5), Occurrence.AddMinutes(5), HoldUntil.AddMinutes(5), default)).ShouldNotBeNull("the next occurrence");
    }

    [Fact]
    public async Task A_run_that_died_leaves_its_occurrence_to_the_past_due_run_once_its_hold_ran_out()
    {
        var claims = NewClaims();
        var died = await claims.TryClaimAsync(Occurrence, Occurrence, HoldUntil, default);
        died.ShouldNotBeNull();

        (await claims.TryClaimAsync(Occurrence, HoldUntil.AddSeconds(-1), HoldUntil.AddMinutes(6), default)).ShouldBeNull("the hold has not run out");
        var pastDue = await claims.TryClaimAsync(Occurrence, HoldUntil.AddSeconds(1), HoldUntil.AddMinutes(6), default);
        pastDue.ShouldNotBeNull("the host's past-due run for the same occurrence");

        // The dead run's late finish changes nothing: the claim is the past-due run's now.
        await claims.FinishAsync(died, default);
        (await claims.TryClaimAsync(Occurrence, HoldUntil.AddMinutes(1), HoldUntil.AddMinutes(7), default)).ShouldBeNull("held by the past-due run");
        await claims.FinishAsync(pastDue, default);
        (await claims.TryClaimAsync(Occurrence, HoldUntil.AddMinutes(20), HoldUntil.AddMinutes(26), default)).ShouldBeNull("finished");
    }

    [Fact]
    public async Task A_run_that_threw_can_be_run_again_at_once()
    {
        var claims = NewClaims();
        var failed = await claims.TryClaimAsync(Occurrence, Occurrence, HoldUntil, default);
        failed.ShouldNotBeNull();

        await claims.ReleaseAsync(failed, default);

        (await claims.TryClaimAsync(Occurrence, Occurrence.AddSeconds(30), HoldUntil, default)).ShouldNotBeNull();
    }

    [Fact]
    public async Task Of_two_instances_claiming_the_same_occurrence_at_once_one_wins()
    {
        var claims = NewClaims();
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => claims.TryClaimAsync(Occurrence, Occurrence, HoldUntil, default)));
        results.Count(r => r is not null).ShouldBe(1);
    }
}
