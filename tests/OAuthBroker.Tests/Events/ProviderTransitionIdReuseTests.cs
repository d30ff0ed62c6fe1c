using OAuthBroker.Events;
using OAuthBroker.Storage.Events;
using OAuthBroker.Tests.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// Reviewer's test (aabb01f): a transition whose replace committed but whose answer came too late (the client's network
/// timeout ran out, Azure.Core retried, got 412) while another instance logged it and recorded the next transition. The
/// retry loop of TableProviderCredentialsState.RecordAsync then records the same event (same id) again on top of the newer
/// transition; its log copy is dropped by receivers as a duplicate, so the log's last transition disagrees with the row.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ProviderTransitionIdReuseTests(BrokerEnvironmentFixture fixture)
{
    private TableProviderCredentialsState Shared => fixture.Broker<TableProviderCredentialsState>();

    [Fact]
    public async Task A_transition_whose_answer_was_late_is_not_recorded_again_over_a_newer_one()
    {
        var provider = ProviderTransitions.NewProvider("late");
        (await Shared.TransitionAsync(ProviderTransitions.Rejected(provider), default)).ShouldBe(TransitionOutcome.Recorded);
        (await Shared.TransitionAsync(ProviderTransitions.Accepted(provider), default)).ShouldBe(TransitionOutcome.Recorded);

        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        var slow = ProxiedProviderState.Behind(fixture, proxy, TimeSpan.FromSeconds(2));
        proxy.Arm("PUT", provider, delay: TimeSpan.FromSeconds(6));
        var rejected = ProviderTransitions.Rejected(provider);
        var first = slow.TransitionAsync(rejected, default);

        var rows = fixture.Broker<EventsTable>().Handle.Client;
        await ProviderTransitions.UntilRowAsync(rows, provider, "EventId", rejected.Id);

        var accepted = ProviderTransitions.Accepted(provider);
        (await Shared.TransitionAsync(accepted, default)).ShouldBe(TransitionOutcome.Recorded);
        await first;

        var row = (await rows.GetEntityAsync(EventTableKeys.ProviderStates, provider))!;
        var firstCopies = (await EventLogReading.AllAsync(fixture.Broker<IEventLog>())).Where(l => l.Event.ProviderId == provider)
            .DistinctBy(l => l.Event.Id).Select(l => l.Event).ToArray();
        firstCopies[^1].Type.ShouldBe(row.GetString("Type"), "receivers (deduplicating by id) must end in the state the row holds");
    }
}
