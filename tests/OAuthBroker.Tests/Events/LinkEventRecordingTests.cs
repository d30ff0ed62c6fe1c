using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// Each state change a platform must act on leaves exactly one event in the log, written with the change itself (the
/// link row is its own outbox) and naming provider, account and platform user, never a secret.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class LinkEventRecordingTests(BrokerEnvironmentFixture fixture)
{
    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();
    private IEventLog Log => fixture.Broker<IEventLog>();

    private async Task<(BrowserSession Browser, AccountLink Link)> LinkAsync(long uid = 0)
    {
        var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid);
        var view = (await browser.LinksAsync()).ShouldHaveSingleItem();
        return (browser, (await Links.GetAsync(browser.User, "bybit", view.AccountId, default))!);
    }

    [Fact]
    public async Task Linking_relinking_losing_and_unlinking_an_account_each_record_one_event_naming_user_provider_and_account()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        await browser.LinkAsync(long.Parse(link.AccountId, System.Globalization.CultureInfo.InvariantCulture));
        await fixture.CredentialOfAsync(link.UserId, "bybit", link.AccountId);

        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10004,"retMsg":"invalid refresh token"}""", "application/json", Times: 2));
        try
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ReauthRequired);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        using (var unlinked = await browser.UnlinkAsync("bybit", link.AccountId))
        {
            unlinked.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        }

        var events = await EventLogReading.OfUserAsync(Log, link.UserId);
        events.Select(e => e.Type).ShouldBe([LinkEventTypes.Created, LinkEventTypes.Relinked, LinkEventTypes.ReauthRequired, LinkEventTypes.Deleted]);
        events.ShouldAllBe(e => e.ProviderId == "bybit" && e.AccountId == link.AccountId && e.UserId == link.UserId);
        events.Select(e => e.Id).Distinct().Count().ShouldBe(4);
        events[0].Status.ShouldBe("active");
        events[2].Status.ShouldBe("reauth_required");
        events[2].Reason.ShouldBe("10004");
        events[3].Status.ShouldBe("deleted");
        events[3].Revocation.ShouldNotBeNull();
        EventLogReading.ShouldHoldNoSecret(fixture, events);
    }

    [Fact]
    public async Task After_a_state_change_the_row_holds_no_pending_event_and_no_outbox_hint_is_left()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;

        link.PendingEvents.ShouldBeEmpty("the store emptied the outbox once the log held its event");
        (await fixture.Broker<IEventOutbox>().RecoverAsync(DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow.AddMinutes(1), default)).ShouldBe(0);
        (await EventLogReading.OfUserAsync(Log, link.UserId)).ShouldHaveSingleItem().Type.ShouldBe(LinkEventTypes.Created);
    }

    [Fact]
    public async Task A_provider_rejecting_the_client_records_one_event_when_the_breaker_opens_and_one_when_it_accepts_again()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var before = (await EventLogReading.AllAsync(Log)).Count;
        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10003,"retMsg":"invalid client"}""", "application/json", Times: 2));
        try
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ProviderMisconfigured);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
            fixture.Broker<ProviderBreaker>().Reset("bybit");
        }

        (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);

        var providerWide = (await EventLogReading.AllAsync(Log)).Skip(before).Select(l => l.Event).Where(e => e.UserId is null && e.ProviderId == "bybit").ToArray();
        providerWide.Select(e => e.Type).ShouldBe([LinkEventTypes.ProviderCredentialsRejected, LinkEventTypes.ProviderCredentialsAccepted]);
        providerWide[0].Reason.ShouldBe("10003");
        providerWide[0].RetryAt.ShouldNotBeNull();
        providerWide.ShouldAllBe(e => e.AccountId == null);
    }
}
