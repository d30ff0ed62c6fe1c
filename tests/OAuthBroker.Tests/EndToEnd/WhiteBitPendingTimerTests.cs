using System.Globalization;
using System.Net;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.Pages;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Events;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// A pending WhiteBIT link at the real cadence of the scheduled run (<c>Refresh:Schedule</c>, by default every minute) against
/// the newest reading's real token lifetimes (get-access-token: "Access token duration is 300 seconds"; refresh-token:
/// "Refresh token duration is 600 seconds"). The sandbox's clock moves with the broker's, so WhiteBIT itself refuses a
/// token past its lifetime, as it would. And how a pending link ends when its renewal fails, or when it is unlinked.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingTimerTests(BrokerEnvironmentFixture fixture) : WhiteBitPendingKeyScenario(fixture)
{
    private static readonly TimeSpan TimerInterval = TimeSpan.FromMinutes(1);

    private IAccountLinkStore Store => Fixture.Broker<IAccountLinkStore>();

    /// <summary>
    /// The timer ticks every minute (the default schedule: a five-minute one does not fit WhiteBIT's 600 s refresh token,
    /// and start-up refuses it); the first tick comes <paramref name="firstTick"/> seconds after the callback,
    /// and each run reaches the link some seconds into its sweep (<paramref name="firstReach"/>, <paramref name="secondReach"/>:
    /// other links first). The user creates the key between the two runs, within WhiteBIT's key wait.
    /// </summary>
    [Theory]
    [InlineData(58, 0, 15)]
    [InlineData(30, 0, 15)]
    [InlineData(2, 0, 15)]
    public async Task At_the_default_timer_a_pending_key_is_linked_whatever_the_offsets_of_the_runs(int firstTick, int firstReach, int secondReach)
    {
        Fixture.Broker<IRunCadence>().LongestGap.ShouldBe(TimerInterval, "the broker runs on the default Refresh:Schedule, 0 * * * * *");
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        var account = (700000 + firstTick).ToString(CultureInfo.InvariantCulture);
        await PendingKeyAsync(browser, account);

        await RunAtAsync(TimeSpan.FromSeconds(firstTick + firstReach));
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.PendingKey);

        Keys.FinishKeyCreation(account, Fixture.SandboxClock.GetUtcNow()).ShouldBe(1);
        await RunAtAsync(TimerInterval - TimeSpan.FromSeconds(firstReach) + TimeSpan.FromSeconds(secondReach));

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.LastFailure.ShouldBeNull();
        link.Status.ShouldBe(LinkStatus.Active, "the refresh token held must still be alive when the next run reaches the link");
        var key = Keys.KeysById[link.AccountId];
        key.Deleted.ShouldBeFalse();
        (await Fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).ApiSecret.ShouldBe(key.Secret);
        (await ProviderFlowSteps.ForceRefreshAsync(Fixture, "whitebit", link.AccountId, browser.User)).ShouldBe(HttpStatusCode.OK, "the stored pair is the live one");
    }

    /// <summary>
    /// The sandbox's default timing of the key: fast-api-key-integration step 0.6 (the user creates it after the exchange,
    /// seconds later), or fast-api-key-via-oauth ("appears shortly after" the consent: from the second look on). Either
    /// way it is not there at the callback's look, and a later run links it.
    /// </summary>
    [Theory]
    [InlineData(KeyCreationReading.AfterExchange)]
    [InlineData(KeyCreationReading.DuringConsent)]
    public async Task With_the_sandboxs_default_timing_the_key_is_missing_at_the_callback_and_a_later_run_links_it(KeyCreationReading creation)
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreation = creation);
        WhiteBit.KeyCreatedAfter.ShouldBeGreaterThan(TimeSpan.Zero);
        WhiteBit.KeyReadyAfterPolls.ShouldBeGreaterThan(1);
        using var browser = Fixture.NewBrowser();
        await PendingKeyAsync(browser, (710010 + (int)creation).ToString(CultureInfo.InvariantCulture));
        (await browser.LinksAsync()).ShouldHaveSingleItem().WaitingFor.ShouldBe("key_not_created");

        await RunAtAsync(WhiteBit.KeyCreatedAfter + TimeSpan.FromSeconds(1));

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        (await Fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).ApiSecret.ShouldBe(Keys.KeysById[link.AccountId].Secret);
    }

    [Fact]
    public async Task A_renewal_WhiteBIT_rejects_ends_the_pending_link_with_key_failed_and_says_the_flows_key_is_left()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        const string account = "710001";
        await PendingKeyAsync(browser, account);
        var flowsKey = await UserCreatesKeyBehindALockAsync(browser, account);
        await WhiteBitRefusesTheRefreshTokenAsync(browser);

        // Six minutes on the access token has run out: the run renews before it looks, and WhiteBIT refuses.
        await RunAtAsync(TimeSpan.FromMinutes(6));

        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldBe(PendingKeyContinuation.KeyLeftCode, "no live token is left to delete the key the user created: the user must");
        flowsKey.Deleted.ShouldBeFalse();
        var keyFailed = (await EventLogReading.OfUserAsync(Fixture.Broker<IEventLog>(), browser.User)).ShouldHaveSingleItem();
        keyFailed.Type.ShouldBe(LinkEventTypes.WhiteBitKeyFailed);
        keyFailed.Reason.ShouldBe(PendingKeyContinuation.KeyLeftCode);
    }

    [Fact]
    public async Task A_renewal_WhiteBIT_rejects_while_the_access_token_lives_deletes_the_flows_key()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        const string account = "710002";
        await PendingKeyAsync(browser, account);
        var flowsKey = await UserCreatesKeyBehindALockAsync(browser, account);
        await WhiteBitRefusesTheRefreshTokenAsync(browser);

        // Three minutes on, the refresh token would be dead before the next run could act: renewed now, and refused.
        await RunAtAsync(TimeSpan.FromMinutes(3));

        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldBe("400");
        flowsKey.Deleted.ShouldBeTrue("the access token still lived: the key this flow created is removed, not left behind");
        var keyFailed = (await EventLogReading.OfUserAsync(Fixture.Broker<IEventLog>(), browser.User)).ShouldHaveSingleItem();
        keyFailed.Type.ShouldBe(LinkEventTypes.WhiteBitKeyFailed);
        keyFailed.Reason.ShouldBe("400");
    }

    [Fact]
    public async Task A_renewal_whose_outcome_is_unknown_after_the_access_token_expired_ends_with_key_failed_and_says_the_key_is_left()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        const string account = "710003";
        await PendingKeyAsync(browser, account);
        var flowsKey = await UserCreatesKeyBehindALockAsync(browser, account);
        // WhiteBIT rotates the pair, and the answer never arrives (the connection is reset after the refresh was processed).
        Fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/refresh_token", 0) { Phase = FaultPhase.AfterHandler, Delivery = FaultDelivery.Drop });

        await RunAtAsync(TimeSpan.FromMinutes(6));

        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldBe(PendingKeyContinuation.KeyLeftCode);
        flowsKey.Deleted.ShouldBeFalse();
        var keyFailed = (await EventLogReading.OfUserAsync(Fixture.Broker<IEventLog>(), browser.User)).ShouldHaveSingleItem();
        keyFailed.Type.ShouldBe(LinkEventTypes.WhiteBitKeyFailed);
        keyFailed.Reason.ShouldBe(PendingKeyContinuation.KeyLeftCode);
    }

    [Fact]
    public async Task Unlinking_a_pending_key_whose_access_token_expired_renews_first_and_deletes_the_flows_key()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        const string account = "710004";
        await PendingKeyAsync(browser, account);
        var flowsKey = await UserCreatesKeyBehindALockAsync(browser, account);
        Advance(TimeSpan.FromMinutes(6));
        var pending = (await browser.LinksAsync()).ShouldHaveSingleItem();
        pending.Status.ShouldBe(LinkStatus.PendingKey);

        var (status, outcome, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", pending.AccountId);

        status.ShouldBe(HttpStatusCode.OK);
        outcome.ShouldBe("revoked");
        flowsKey.Deleted.ShouldBeTrue("the key is deleted while the grant lives, as for an active link");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_renewal_handed_over_for_a_credential_version_another_instance_renewed_since_spends_nothing()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        await PendingKeyAsync(browser, "710005");
        Advance(TimeSpan.FromMinutes(6));
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var (outcome, handedOver) = await Fixture.Broker<PendingKeyContinuation>().StepAsync(row, afterRenewal: false, default);
        outcome.ShouldBe(RefreshOutcome.RenewalNeeded);
        var refreshes = new Fault("/whitebit/oauth2/refresh_token", 0, Times: 100);
        Fixture.SandboxFaults.Add(refreshes);

        // Before this instance's refresher gets to it, another instance's run renews the pair (and keeps waiting).
        await using (var other = await BrokerInstance.StartAsync(Fixture, new ManualClock(Fixture.BrokerClock.GetUtcNow() - DateTimeOffset.UtcNow)))
        {
            await other.Get<ScheduledRun>().RunAsync(default);
        }

        refreshes.Used.ShouldBe(1);
        var renewed = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        renewed.CredentialVersion.ShouldNotBe(handedOver!.CredentialVersion);

        (await Fixture.Broker<LinkRefresher>().RenewHandedOverAsync(handedOver, default)).ShouldBe(RefreshOutcome.Busy);
        refreshes.Used.ShouldBe(1, "the version handed over was renewed already: its successor is not spent on its behalf");
        (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem().CredentialVersion.ShouldBe(renewed.CredentialVersion);
    }

    [Fact]
    public async Task An_unlink_renewing_first_and_a_pending_renewal_in_one_instance_share_one_attempt()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        await PendingKeyAsync(browser, "710006");
        Advance(TimeSpan.FromMinutes(6));
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var (_, handedOver) = await Fixture.Broker<PendingKeyContinuation>().StepAsync(row, afterRenewal: false, default);
        // Each refresh takes a second at WhiteBIT, so the second caller comes while the first attempt is under way.
        var refreshes = new Fault("/whitebit/oauth2/refresh_token", 0, Delay: TimeSpan.FromSeconds(1), Times: 100);
        Fixture.SandboxFaults.Add(refreshes);
        var refresher = Fixture.Broker<LinkRefresher>();

        var renewal = refresher.RenewHandedOverAsync(handedOver!, default);
        var forced = refresher.RefreshAsync(row.UserId, row.ProviderId, row.AccountId, LinkRefresher.Mode.Force, default);

        (await Task.WhenAll(renewal, forced)).ShouldAllBe(o => o == RefreshOutcome.Refreshed);
        refreshes.Used.ShouldBe(1);
    }

    /// <summary>
    /// The user creates the key (fast-api-key-integration step 0.6) and its secret stays locked (api-key-secret 423), so the
    /// link keeps waiting with a key at WhiteBIT that this flow created. Returns that key.
    /// </summary>
    /// <summary>
    /// WhiteBIT refuses this link's refresh token, and only this link's (refresh-token 400: {"data":{"token":["Invalid
    /// token."]}}, the sandbox's own answer to a token past its life): its grant's refresh token is made expired, the
    /// access tokens untouched. Not a one-time fault on the endpoint: the run also renews due links earlier tests left
    /// in the shared store, and one of them could take the fault, leaving this link renewed.
    /// </summary>
    private async Task WhiteBitRefusesTheRefreshTokenAsync(BrowserSession browser)
    {
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var held = await Fixture.CredentialOfAsync(browser.User, "whitebit", row.AccountId);
        var grant = Fixture.Sandbox<StandardGrants>().Authenticate("whitebit", held.AccessToken).ShouldNotBeNull();
        lock (grant.Gate)
        {
            grant.CurrentRefreshTokenExpiresAt = DateTimeOffset.MinValue;
        }
    }

    private async Task<WhiteBitSandboxEndpoints.State.Key> UserCreatesKeyBehindALockAsync(BrowserSession browser, string account)
    {
        WhiteBit.SecretLockedFor = TimeSpan.FromHours(1);
        Keys.FinishKeyCreation(account, Fixture.SandboxClock.GetUtcNow()).ShouldBe(1);
        await RunAtAsync(TimeSpan.FromSeconds(2));
        (await browser.LinksAsync()).ShouldHaveSingleItem().WaitingFor.ShouldBe("key_locked");
        return Keys.KeysById.Values.Where(k => k.Account == account).ShouldHaveSingleItem();
    }
}
