using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// The refresher's give-up path (<see cref="PendingKeyContinuation.EndUnrenewableAsync"/>, reached when the last run
/// that could renew a pending link's pair had its renewal refused, e.g. WhiteBIT's 1 request/s limit, or Busy because
/// the unlink held the lease) leaves the flow to an unlink under way (a fresh <see cref="AccountLink.UnlinkRequestedAt"/>).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingUnlinkGiveUpTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    [Fact]
    public async Task The_last_runs_give_up_leaves_the_pending_flow_to_a_fresh_unlink_intent()
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

        // Nothing left for later tests' sweeps (its pair would be renewed at the shared sandbox).
        (await Store.DeleteAsync(after, default)).ShouldBeTrue();
    }
}
