using Microsoft.Extensions.Logging;
using OAuthBroker.Events;
using OAuthBroker.Refresh;
using OAuthBroker.Storage.Events;
using OAuthBroker.Tests.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// A breaker's acceptance that was not recorded (another instance's rejection came in over it while its row write's
/// answer was late, <see cref="StorageAnswerProxy"/>) is not taken as settled: the next successful refresh on the same
/// instance records the acceptance, rather than leaving the shared state rejected until the breaker's recheck.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ProviderBreakerConfirmationTests(BrokerEnvironmentFixture fixture)
{
    private TableProviderCredentialsState Shared => fixture.Broker<TableProviderCredentialsState>();

    [Fact]
    public async Task An_acceptance_another_instance_overtook_is_recorded_on_the_next_successful_refresh()
    {
        var provider = ProviderTransitions.NewProvider("confirm");
        (await Shared.TransitionAsync(ProviderTransitions.Rejected(provider), default))
            .ShouldBe(TransitionOutcome.Recorded);

        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        var breaker = new ProviderBreaker(TimeProvider.System, ProxiedProviderState.Behind(fixture, proxy, TimeSpan.FromSeconds(2)), fixture.Broker<ILogger<ProviderBreaker>>());

        // This instance's refresh succeeds: its acceptance commits, the answer comes after its client's timeout. Meanwhile
        // another instance logs it and records a rejection; this instance's retry meets that one.
        proxy.Arm("PUT", provider, delay: TimeSpan.FromSeconds(6));
        var confirming = breaker.ConfirmAsync(provider, default);
        var rows = fixture.Broker<EventsTable>().Handle.Client;
        await ProviderTransitions.UntilRowAsync(rows, provider, "Type", LinkEventTypes.ProviderCredentialsAccepted);

        (await Shared.TransitionAsync(ProviderTransitions.Rejected(provider), default))
            .ShouldBe(TransitionOutcome.Recorded);
        await confirming;

        // The next successful refresh on this instance, well within its recheck interval.
        await breaker.ConfirmAsync(provider, default);
        (await rows.GetEntityAsync(EventTableKeys.ProviderStates, provider))!.GetString("Type")
            .ShouldBe(LinkEventTypes.ProviderCredentialsAccepted, "a refresh succeeded after the rejection, so the shared state says accepted");
    }
}
