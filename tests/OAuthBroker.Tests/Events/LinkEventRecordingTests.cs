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
        await AcceptedToStartWithAsync();
        var before = await ProviderWideIdsAsync();
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

        var providerWide = await ProviderWideSinceAsync(before);
        providerWide.Select(e => e.Type).ShouldBe([LinkEventTypes.ProviderCredentialsRejected, LinkEventTypes.ProviderCredentialsAccepted]);
        providerWide[0].Reason.ShouldBe("10003");
        providerWide[0].RetryAt.ShouldNotBeNull();
        providerWide.ShouldAllBe(e => e.AccountId == null);
    }

    [Fact]
    public async Task Two_instances_whose_breakers_both_open_record_one_rejection_and_one_acceptance()
    {
        var (browserA, linkA) = await LinkAsync();
        var (browserB, linkB) = await LinkAsync();
        using var _ = browserA;
        using var __ = browserB;
        await using var instanceB = await BrokerInstance.StartAsync(fixture);
        var (a, b) = (fixture.Broker<LinkRefresher>(), instanceB.Get<LinkRefresher>());
        Task<RefreshOutcome> RefreshAsync(LinkRefresher refresher, AccountLink link) =>
            refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default);

        await AcceptedToStartWithAsync();
        var before = await ProviderWideIdsAsync();

        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10003,"retMsg":"invalid client"}""", "application/json", Times: 2));
        try
        {
            (await RefreshAsync(a, linkA)).ShouldBe(RefreshOutcome.ProviderMisconfigured);
            (await RefreshAsync(b, linkB)).ShouldBe(RefreshOutcome.ProviderMisconfigured, "instance B's own breaker opens too");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
            fixture.Broker<ProviderBreaker>().Reset("bybit");
            instanceB.Get<ProviderBreaker>().Reset("bybit");
        }

        (await RefreshAsync(a, linkA)).ShouldBe(RefreshOutcome.Refreshed);
        (await RefreshAsync(b, linkB)).ShouldBe(RefreshOutcome.Refreshed);

        var providerWide = await ProviderWideSinceAsync(before);
        providerWide.Select(e => e.Type).ShouldBe([LinkEventTypes.ProviderCredentialsRejected, LinkEventTypes.ProviderCredentialsAccepted]);
        providerWide.Select(e => e.Id).Distinct().Count().ShouldBe(2);
    }

    [Fact]
    public async Task An_instance_started_while_a_provider_stood_rejected_records_the_acceptance_on_its_first_successful_refresh()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        await AcceptedToStartWithAsync();
        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10003,"retMsg":"invalid client"}""", "application/json", Times: 2));
        try
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ProviderMisconfigured);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        // The instance that saw the rejection keeps its breaker open; a newly started one refreshes.
        var before = await ProviderWideIdsAsync();
        try
        {
            await using var started = await BrokerInstance.StartAsync(fixture);
            (await started.Get<LinkRefresher>().RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            fixture.Broker<ProviderBreaker>().Reset("bybit");
        }

        (await ProviderWideSinceAsync(before)).Select(e => e.Type).ShouldBe([LinkEventTypes.ProviderCredentialsAccepted]);
    }

    /// <summary>Whatever an earlier test left (a breaker tripped by another instance), the shared state starts as "accepted".</summary>
    private Task AcceptedToStartWithAsync() =>
        fixture.Broker<IProviderCredentialsState>().TransitionAsync(LinkEvents.ProviderWide("bybit", LinkEventTypes.ProviderCredentialsAccepted, DateTimeOffset.UtcNow), default);

    /// <summary>By id, not by position: two instances' clocks order the log only to about a second.</summary>
    private async Task<HashSet<string>> ProviderWideIdsAsync() => [.. (await ProviderWideSinceAsync([])).Select(e => e.Id)];

    private async Task<LinkEvent[]> ProviderWideSinceAsync(HashSet<string> seen) =>
        [.. (await EventLogReading.AllAsync(Log)).Select(l => l.Event).Where(e => e.UserId is null && e.ProviderId == "bybit" && !seen.Contains(e.Id)).OrderBy(e => e.OccurredAt)];
}
