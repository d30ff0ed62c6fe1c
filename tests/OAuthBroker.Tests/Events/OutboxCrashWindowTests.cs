using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// The windows docs/events.md lists, each made real: the link table and the event hints on Azurite, and an event log
/// nobody can reach (<see cref="UnreachableEventLog"/>), so the writer stops exactly where a crash would stop it.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OutboxCrashWindowTests(BrokerEnvironmentFixture fixture)
{
    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();
    private IEventLog Log => fixture.Broker<IEventLog>();

    private TableAccountLinkStore StoreWithUnreachableLog() => UnreachableEventLog.Store(fixture);

    private async Task<(BrowserSession Browser, AccountLink Link)> LinkAsync()
    {
        var browser = fixture.NewBrowser();
        await browser.LinkAsync();
        var view = (await browser.LinksAsync()).ShouldHaveSingleItem();
        return (browser, (await Links.GetAsync(browser.User, "bybit", view.AccountId, default))!);
    }

    private Task<int> RecoverAllAsync() =>
        fixture.Broker<IEventOutbox>().RecoverAsync(DateTimeOffset.UtcNow.AddMinutes(1), DateTimeOffset.UtcNow.AddMinutes(1), default);

    [Fact]
    public async Task A_writer_stopped_after_the_state_change_leaves_its_event_in_the_row_and_recovery_records_it()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var now = DateTimeOffset.UtcNow;

        var written = await StoreWithUnreachableLog().ReplaceAsync(
            (link with { Status = LinkStatus.ReauthRequired, LastFailure = "invalid_grant" }).AnnouncingStatus(now), default);

        written.PendingEvents.ShouldHaveSingleItem("the state change stands; its event waits in the row");
        var stored = (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!;
        stored.Status.ShouldBe(LinkStatus.ReauthRequired);
        stored.PendingEvents.ShouldHaveSingleItem().Type.ShouldBe(LinkEventTypes.ReauthRequired);
        (await EventLogReading.OfUserAsync(Log, link.UserId)).Select(e => e.Type).ShouldBe([LinkEventTypes.Created]);

        (await RecoverAllAsync()).ShouldBeGreaterThanOrEqualTo(1);

        var events = await EventLogReading.OfUserAsync(Log, link.UserId);
        events.Select(e => e.Type).ShouldBe([LinkEventTypes.Created, LinkEventTypes.ReauthRequired]);
        events[1].Id.ShouldBe(stored.PendingEvents[0].Id, "the event keeps the id it was written with");
        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.PendingEvents.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_state_change_that_never_happened_leaves_only_a_hint_which_recovery_drops_without_an_event()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var stale = link with { ETag = "W/\"datetime'2000-01-01T00%3A00%3A00.0000000Z'\"" };

        await Should.ThrowAsync<LinkConcurrencyException>(() =>
            Links.ReplaceAsync((stale with { Status = LinkStatus.Expired }).AnnouncingStatus(DateTimeOffset.UtcNow), default));

        await RecoverAllAsync();
        (await EventLogReading.OfUserAsync(Log, link.UserId)).Select(e => e.Type).ShouldBe([LinkEventTypes.Created]);
        (await HintsAsync()).ShouldNotContain(Links.ReferenceOf(link.UserId, "bybit", link.AccountId));
    }

    [Fact]
    public async Task A_row_whose_events_cannot_reach_the_log_is_not_deleted()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var store = StoreWithUnreachableLog();
        var unlinking = await store.ReplaceAsync((link with { Status = LinkStatus.Unlinking }).Announcing(LinkEventTypes.Deleted, DateTimeOffset.UtcNow), default);
        unlinking.PendingEvents.ShouldHaveSingleItem();

        await Should.ThrowAsync<StorageUnavailableException>(() => store.DeleteAsync(unlinking, default));

        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default)).ShouldNotBeNull("deleting it would lose the only copy of its event");
        await RecoverAllAsync();
        (await EventLogReading.OfUserAsync(Log, link.UserId)).Select(e => e.Type).ShouldBe([LinkEventTypes.Created, LinkEventTypes.Deleted]);
    }

    [Fact]
    public async Task Recovery_leaves_a_row_under_a_live_lease_to_its_holder_whose_next_write_still_succeeds()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var leases = fixture.Broker<LinkLeases>();

        // A holder takes the lease with a write that carries an event, and its publish fails: the event stays in the row.
        var held = await StoreWithUnreachableLog().ReplaceAsync(
            leases.WithLease(link, "refresh-holder").Announcing(LinkEventTypes.Relinked, DateTimeOffset.UtcNow), default);
        held.PendingEvents.ShouldHaveSingleItem();

        await RecoverAllAsync();

        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.ETag.ShouldBe(held.ETag, "recovery must not write under a live lease");
        var released = await Links.ReplaceAsync(held with { LeaseOwner = null, LeaseUntil = null }, default);
        released.PendingEvents.ShouldBeEmpty("the holder's own next write publishes the event");
        var events = await EventLogReading.OfUserAsync(Log, link.UserId);
        events.Select(e => e.Type).ShouldBe([LinkEventTypes.Created, LinkEventTypes.Relinked]);
        events[1].Id.ShouldBe(held.PendingEvents[0].Id);
    }

    [Fact]
    public async Task Recovery_records_the_events_of_a_holder_that_died_once_its_lease_has_run_out()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var leases = fixture.Broker<LinkLeases>();
        var lapsed = link with { LeaseOwner = "refresh-dead", LeaseUntil = leases.Now - TimeSpan.FromSeconds(1) };

        var held = await StoreWithUnreachableLog().ReplaceAsync(lapsed.Announcing(LinkEventTypes.Relinked, DateTimeOffset.UtcNow), default);
        await RecoverAllAsync();

        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.PendingEvents.ShouldBeEmpty();
        (await EventLogReading.OfUserAsync(Log, link.UserId)).Select(e => e.Type).ShouldBe([LinkEventTypes.Created, LinkEventTypes.Relinked]);
        (await EventLogReading.OfUserAsync(Log, link.UserId))[1].Id.ShouldBe(held.PendingEvents[0].Id);
    }

    [Fact]
    public async Task A_state_change_whose_hint_cannot_be_written_still_happens_and_the_recovery_scan_records_its_event()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var now = DateTimeOffset.UtcNow;

        // The events table is down: neither the hint nor the log can be written. The link table is up.
        var written = await UnreachableEventLog.StoreWithoutEventsTable(fixture).ReplaceAsync(
            (link with { Status = LinkStatus.ReauthRequired, LastFailure = "invalid_grant" }).AnnouncingStatus(now), default);

        written.PendingEvents.ShouldHaveSingleItem("the state change stands; its event waits in the row");
        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.Status.ShouldBe(LinkStatus.ReauthRequired);
        (await HintsAsync()).ShouldNotContain(Links.ReferenceOf(link.UserId, "bybit", link.AccountId), "no hint leads to the row");

        // A delivery run scans the link table when no pass ended within the interval (other tests' runs may have ended one).
        await fixture.Broker<IBrokerStateStore>().SetAsync(TableOutboxRecovery.ScanStateKey, null, default);
        (await RecoverAllAsync()).ShouldBeGreaterThanOrEqualTo(1);

        var events = await EventLogReading.OfUserAsync(Log, link.UserId);
        events.Select(e => e.Type).ShouldBe([LinkEventTypes.Created, LinkEventTypes.ReauthRequired]);
        events[1].Id.ShouldBe(written.PendingEvents[0].Id);
        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.PendingEvents.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_provider_transition_recorded_but_not_logged_is_appended_by_recovery()
    {
        var provider = "stopped-" + Guid.NewGuid().ToString("N")[..8];
        var rejected = LinkEvents.ProviderWide(provider, LinkEventTypes.ProviderCredentialsRejected, DateTimeOffset.UtcNow, "invalid_client");

        // The writer records the transition, then cannot reach the log (as if it stopped there).
        var writer = new TableProviderCredentialsState(fixture.Broker<EventsTable>().Handle, UnreachableEventLog.Log(fixture));
        (await writer.TransitionAsync(rejected, default)).ShouldBe(TransitionOutcome.Recorded);
        (await EventLogReading.AllAsync(Log)).ShouldNotContain(l => l.Event.Id == rejected.Id);

        await fixture.Broker<TableProviderCredentialsState>().RecoverAsync(DateTimeOffset.UtcNow.AddMinutes(1), default);

        (await EventLogReading.AllAsync(Log)).Where(l => l.Event.ProviderId == provider).Select(l => l.Event.Id).ShouldBe([rejected.Id]);
        (await writer.TransitionAsync(rejected with { Id = LinkEvents.NewId() }, default)).ShouldBe(TransitionOutcome.AlreadySo, "the provider already stands rejected");
    }

    private Task<List<string>> HintsAsync() =>
        fixture.Broker<EventsTable>().Handle.RunAsync(async client =>
        {
            var keys = new List<string>();
            await foreach (var hint in client.QueryAsync(TableFilter.Equal("PartitionKey", "outbox"), ct: default))
            {
                keys.Add(hint.GetString("Reference")!);
            }

            return keys;
        }, default);
}
