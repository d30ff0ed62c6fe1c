using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
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
}
