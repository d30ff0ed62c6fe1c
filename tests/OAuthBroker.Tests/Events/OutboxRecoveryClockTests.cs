using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Refresh;
using OAuthBroker.Storage;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Refresh;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// The delivery run's recovery bound (<see cref="EventsOptions.OutboxRecoveryAfter"/>) is compared with times the storage
/// service set (rows' and hints' <c>Timestamp</c>), so it is taken on the service's clock: an instance whose own wall
/// clock is off (here 10 minutes slow) still takes over what a stopped writer left. Tables of the test's own, so the
/// fixture's scheduled runs cannot do the recovery for it.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OutboxRecoveryClockTests(BrokerEnvironmentFixture fixture)
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task A_run_on_an_instance_whose_wall_clock_is_slow_still_takes_over_a_stopped_writers_transition()
    {
        var options = Options.Create(new EventsOptions { OutboxRecoveryAfter = TimeSpan.FromSeconds(1), ListingDelay = TimeSpan.Zero });
        var serviceClock = fixture.Broker<ILeaseClock>();
        var events = new TableHandle(PlainClient("clockevents" + _suffix));
        var log = new TableEventLog(events, serviceClock, options);

        // A writer records a provider transition, then cannot reach the log (as if it stopped there).
        var provider = "slowclock-" + _suffix;
        var rejected = LinkEvents.ProviderWide(provider, LinkEventTypes.ProviderCredentialsRejected, DateTimeOffset.UtcNow, "invalid_client");
        (await new TableProviderCredentialsState(events, UnreachableEventLog.Log(fixture)).TransitionAsync(rejected, default)).ShouldBe(TransitionOutcome.Recorded);
        var written = (await events.Client.GetEntityAsync(EventTableKeys.ProviderStates, provider)).ShouldNotBeNull().Timestamp!.Value;
        while (serviceClock.UtcNow - options.Value.OutboxRecoveryAfter < written)
        {
            await Task.Delay(100);
        }

        var slow = new ManualClock(TimeSpan.FromMinutes(-10));
        var services = fixture.Environment.Broker.Services;
        var outbox = new LinkOutbox(events, log, slow);
        var links = new TableAccountLinkStore(new TableHandle(PlainClient("clocklinks" + _suffix)), outbox);
        var state = new TableBrokerStateStore(new TableHandle(PlainClient("clockstate" + _suffix)));
        var recovery = ActivatorUtilities.CreateInstance<TableOutboxRecovery>(services,
            links, outbox, new TableProviderCredentialsState(events, log), (IBrokerStateStore)state, options, (TimeProvider)slow);
        var run = ActivatorUtilities.CreateInstance<EventDeliveryTask>(services, (IEventLog)log, (IEventOutbox)recovery, options, (TimeProvider)slow);

        (await run.RunAsync(slow.GetUtcNow() + TimeSpan.FromMinutes(1), default)).ShouldBe(1, "the stopped writer's transition is taken over");
        (await EventLogReading.AllAsync(log)).Select(l => l.Event.Id).ShouldBe([rejected.Id]);
    }

    private TableClient PlainClient(string table)
    {
        var storage = fixture.Broker<IOptions<StorageOptions>>().Value;
        var connection = TableConnectionString.Parse(storage.ConnectionString!);
        return new TableClient(connection.TableEndpoint, table, connection.Credential);
    }
}
