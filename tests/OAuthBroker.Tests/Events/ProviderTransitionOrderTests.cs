using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// Two instances' breakers flipping a provider's shared credentials state one after the other, while the first writer has
/// recorded its transition and not logged it yet: it stopped (its log unreachable), or it stalls (the answer to its row
/// write held in a relay, <see cref="StorageAnswerProxy"/>). Every recorded transition reaches the log, and the first copy
/// of each comes in the order they were recorded.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ProviderTransitionOrderTests(BrokerEnvironmentFixture fixture)
{
    private TableProviderCredentialsState Shared => fixture.Broker<TableProviderCredentialsState>();

    [Fact]
    public async Task A_transition_recorded_but_not_logged_is_logged_before_another_instance_replaces_it()
    {
        var provider = ProviderTransitions.NewProvider("flip");
        var rejected = ProviderTransitions.Rejected(provider);
        var stopped = new TableProviderCredentialsState(fixture.Broker<EventsTable>().Handle, UnreachableEventLog.Log(fixture));
        (await stopped.TransitionAsync(rejected, default)).ShouldBe(TransitionOutcome.Recorded);

        // Another instance's refresh succeeds before any recovery ran.
        var accepted = ProviderTransitions.Accepted(provider);
        (await Shared.TransitionAsync(accepted, default)).ShouldBe(TransitionOutcome.Recorded);
        await Shared.RecoverAsync(DateTimeOffset.UtcNow.AddMinutes(1), default);

        (await FirstCopiesAsync(provider)).ShouldBe([rejected.Id, accepted.Id], "the rejection was recorded, so it is logged, before the acceptance");
    }

    [Fact]
    public async Task A_writer_that_stalls_after_recording_its_transition_does_not_log_it_after_the_next_one()
    {
        var provider = ProviderTransitions.NewProvider("flip");
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        var stalling = ProxiedProviderState.Behind(fixture, proxy);

        // The first instance's row insert commits; its answer (and so its log append) is held up.
        var held = proxy.ArmHold("POST", provider);
        var rejected = ProviderTransitions.Rejected(provider);
        var first = stalling.TransitionAsync(rejected, default);
        await held.Committed.WaitAsync(TimeSpan.FromSeconds(30));

        var accepted = ProviderTransitions.Accepted(provider);
        (await Shared.TransitionAsync(accepted, default)).ShouldBe(TransitionOutcome.Recorded);
        held.Release();
        (await first).ShouldBe(TransitionOutcome.Recorded, "its transition was recorded");

        (await FirstCopiesAsync(provider)).ShouldBe([rejected.Id, accepted.Id], "the stalled writer's copy, if any, comes after the first");
    }

    [Fact]
    public async Task A_transition_appended_by_an_instance_whose_clock_lags_still_comes_after_the_one_it_replaced()
    {
        // The second instance has had no Table answer yet, so its own wall clock stands in for the service's
        // (TableServerClock), and it runs 3 s slow: its cursors for the same moment are earlier than the first instance's.
        var provider = ProviderTransitions.NewProvider("skew");
        var lagging = new TableProviderCredentialsState(fixture.Broker<EventsTable>().Handle, new TableEventLog(
            fixture.Broker<EventsTable>().Handle, new TableServerClock(new ManualClock(TimeSpan.FromSeconds(-3))), fixture.Broker<IOptions<EventsOptions>>()));
        var rejected = ProviderTransitions.Rejected(provider);
        (await Shared.TransitionAsync(rejected, default)).ShouldBe(TransitionOutcome.Recorded);

        var accepted = ProviderTransitions.Accepted(provider);
        (await lagging.TransitionAsync(accepted, default)).ShouldBe(TransitionOutcome.Recorded);

        (await FirstCopiesAsync(provider)).ShouldBe([rejected.Id, accepted.Id], "receivers must end in the state the row holds: accepted");
    }

    /// <summary>The provider's event ids in log order, each at its first copy (receivers deduplicate by id).</summary>
    private async Task<string[]> FirstCopiesAsync(string provider) =>
        (await EventLogReading.AllAsync(fixture.Broker<IEventLog>())).Where(l => l.Event.ProviderId == provider).Select(l => l.Event.Id).Distinct().ToArray();
}
