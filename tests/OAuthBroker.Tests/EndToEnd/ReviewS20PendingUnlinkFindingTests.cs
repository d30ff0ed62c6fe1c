using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// Review s20 (branch rev-s20-unlink), finding 2: docs/link-states.md says a run that sees a fresh unlink intent
/// (UnlinkRequestedAt) "neither links the key nor ends the flow", but the refresher's give-up path
/// (PendingKeyContinuation.EndUnrenewableAsync, reached from LinkRefresher.ContinuePendingAsync when this run's renewal
/// was refused, e.g. WhiteBIT's 1 request/s limit, or Busy because the unlink held the lease) does not look at the intent
/// and ends the flow under it. EXPECTED TO FAIL on rev-s20-unlink at a70bcc5: it demonstrates the finding.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ReviewS20PendingUnlinkFindingTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    [Fact]
    public async Task A_fresh_unlink_intent_keeps_the_last_runs_give_up_from_ending_the_pending_flow()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"), 694001);
        using (var landed = await browser.GetRawAsync(callback))
        {
            var pendingReturn = browser.PendingReturn(landed).ShouldNotBeNull();
            using var completed = await browser.CompleteAsync(pendingReturn.Provider, pendingReturn.Code);
            (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetString().ShouldBe("pending_key");
        }

        // As in WhiteBitPendingUnlinkTests' first test: six minutes on, the access token (300 s) has expired and the
        // refresh token (600 s) is within the next run's horizon, so this run is the last that can renew it.
        using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6));
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        fixture.Broker<PendingRenewalHorizon>().MustRenewThisRun(row, fixture.BrokerClock.GetUtcNow()).ShouldBeTrue();

        // An unlink under way: it gave the lease back with its intent, for the renewal (LinkLeases.ReleaseForUnlinkAsync).
        var leases = fixture.Broker<LinkLeases>();
        var stamped = await Store.ReplaceAsync(row with { UnlinkRequestedAt = leases.Now }, default);

        // This run's renewal was refused without a spend (Retrying): ContinuePendingAsync gives up through EndUnrenewableAsync.
        var outcome = await fixture.Broker<PendingKeyContinuation>().EndUnrenewableAsync(stamped, RefreshOutcome.Retrying, default);

        var after = (await Store.GetAsync(browser.User, "whitebit", row.AccountId, default)).ShouldNotBeNull();
        outcome.ShouldBe(RefreshOutcome.Retrying, "a run seeing the unlink's intent leaves the link's end to the unlink");
        after.Status.ShouldBe(LinkStatus.PendingKey, "the unlink, retried while the refresh token lives, can still renew and delete the flow's key");
    }
}
