using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Storage;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// The merge that empties a row's outbox after its events reached the log is a storage call like any other: Azurite
/// commits it, its answer is cut off on the way back (<see cref="StorageAnswerProxy"/>), and the Table client's retry
/// gets 412 against the writer's own change. The writer must go on with the row's new ETag, not its old one.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OutboxLostAnswerTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>The merge that empties an outbox is the only MERGE on a link row, and its body names <c>Outbox</c>.</summary>
    private const string OutboxClear = "\"Outbox\"";

    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();

    private async Task<BrokerInstance> BehindAsync(StorageAnswerProxy proxy)
    {
        var azurite = fixture.Environment.Azurite;
        return await BrokerInstance.StartAsync(fixture, null,
            [$"--Storage:ConnectionString={proxy.ConnectionStringFor(azurite.ConnectionString, azurite.Port)}", .. BrokerInstance.ShortBudget]);
    }

    [Fact]
    public async Task A_refresh_whose_lease_write_published_leftover_events_and_lost_the_answer_still_refreshes()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 515150001);
        var link = (await Links.GetAsync(browser.User, "bybit", "515150001", default))!;
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "515150001");

        // An earlier writer stopped before its publish: the row holds an event, and the refresh's lease write carries it.
        var leftover = await UnreachableEventLog.Store(fixture).ReplaceAsync(link.Announcing(LinkEventTypes.Relinked, DateTimeOffset.UtcNow), default);
        leftover.PendingEvents.ShouldHaveSingleItem();

        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        await using var instance = await BehindAsync(proxy);
        proxy.Arm("MERGE", OutboxClear, delay: null);
        var outcome = await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", "515150001", LinkRefresher.Mode.Force, default);

        proxy.Triggered.ShouldBe(1, "the outbox clear's answer was lost");
        outcome.ShouldBe(RefreshOutcome.Refreshed);
        var grant = fixture.Sandbox<BybitSandboxState>().Grants[fixture.Sandbox<BybitSandboxState>().RefreshTokens[before.RefreshToken!]];
        grant.RefreshCount.ShouldBe(1);
        var row = (await Links.GetAsync(browser.User, "bybit", "515150001", default))!;
        row.LeaseOwner.ShouldBeNull("the refresh gave its lease back");
        row.PendingEvents.ShouldBeEmpty();
        (await EventLogReading.OfUserAsync(fixture.Broker<IEventLog>(), browser.User)).Select(e => e.Id)
            .ShouldContain(leftover.PendingEvents[0].Id);
    }

    [Fact]
    public async Task An_unlink_whose_outbox_clear_lost_its_answer_deletes_the_link()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 515150002);
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        await using var instance = await BehindAsync(proxy);

        // The unlinking write carries link.deleted; the merge that empties the outbox commits and its answer is lost.
        proxy.Arm("MERGE", OutboxClear, delay: null);
        var (result, error) = await instance.Get<LinkService>().UnlinkAsync(browser.User, "bybit", "515150002", default);

        proxy.Triggered.ShouldBe(1, "the outbox clear's answer was lost");
        error.ShouldBeNull();
        result.ShouldNotBeNull().Revocation.ShouldBe(RevocationStatus.NotSupportedByProvider);
        (await Links.GetAsync(browser.User, "bybit", "515150002", default)).ShouldBeNull("the unlink finished, not left unlinking");
        (await EventLogReading.OfUserAsync(fixture.Broker<IEventLog>(), browser.User)).Select(e => e.Type)
            .ShouldBe([LinkEventTypes.Created, LinkEventTypes.Deleted], ignoreOrder: true, "each once (two instances' clocks order the log only to about a second)");
    }

    [Fact]
    public async Task A_write_after_an_outbox_clear_that_committed_but_was_reported_unavailable_goes_on_from_the_cleared_row()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 515150003);
        var link = (await Links.GetAsync(browser.User, "bybit", "515150003", default))!;
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        var store = StoreBehind(proxy);

        // The clear commits and its answer is lost; this client does not retry (as when every retry failed too), so the
        // writer hears "unavailable": its events stay pending and it keeps the ETag of its own write.
        proxy.Arm("MERGE", OutboxClear, delay: null);
        var written = await store.ReplaceAsync(link.Announcing(LinkEventTypes.Relinked, DateTimeOffset.UtcNow), default);
        proxy.Triggered.ShouldBe(1);
        written.PendingEvents.ShouldHaveSingleItem("the writer cannot tell the clear committed");
        (await Links.GetAsync(browser.User, "bybit", "515150003", default))!.ETag.ShouldNotBe(written.ETag, "it did");

        // Its next write goes on from the cleared row: the only change since its own was that clear.
        var next = await store.ReplaceAsync(written with { AccountDisplayName = "after the lost answer" }, default);

        var row = (await Links.GetAsync(browser.User, "bybit", "515150003", default))!;
        row.AccountDisplayName.ShouldBe("after the lost answer");
        row.ETag.ShouldBe(next.ETag);
        row.PendingEvents.ShouldBeEmpty();
        (await EventLogReading.OfUserAsync(fixture.Broker<IEventLog>(), browser.User)).Where(e => e.Type == LinkEventTypes.Relinked)
            .Select(e => e.Id).Distinct().ShouldBe([written.PendingEvents[0].Id], "recorded (at least once, under its one id)");
    }

    [Fact]
    public async Task A_write_after_an_outbox_clear_reported_unavailable_still_fails_when_another_writer_came_after_the_clear()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 515150004);
        var link = (await Links.GetAsync(browser.User, "bybit", "515150004", default))!;
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        var store = StoreBehind(proxy);
        proxy.Arm("MERGE", OutboxClear, delay: null);
        var written = await store.ReplaceAsync(link.Announcing(LinkEventTypes.Relinked, DateTimeOffset.UtcNow), default);
        proxy.Triggered.ShouldBe(1);

        // Another writer replaced the row after the clear: its change must not be overwritten.
        var current = (await Links.GetAsync(browser.User, "bybit", "515150004", default))!;
        await Links.ReplaceAsync(current with { AccountDisplayName = "the other writer's" }, default);

        await Should.ThrowAsync<LinkConcurrencyException>(() => store.ReplaceAsync(written with { AccountDisplayName = "stale" }, default));
        (await Links.GetAsync(browser.User, "bybit", "515150004", default))!.AccountDisplayName.ShouldBe("the other writer's");
    }

    /// <summary>The broker's link store and outbox, its link table reached through <paramref name="proxy"/> by a client that does not retry.</summary>
    private TableAccountLinkStore StoreBehind(StorageAnswerProxy proxy)
    {
        var storage = fixture.Broker<IOptions<StorageOptions>>().Value;
        var azurite = fixture.Environment.Azurite;
        var connection = TableConnectionString.Parse(proxy.ConnectionStringFor(azurite.ConnectionString, azurite.Port));
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 0;
        return new TableAccountLinkStore(new TableHandle(new TableClient(connection.TableEndpoint, storage.LinksTable, connection.Credential, options)), fixture.Broker<LinkOutbox>());
    }
}
