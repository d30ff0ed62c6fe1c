using System.Net;
using System.Net.Http.Json;
using OAuthBroker.Links;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// A pending WhiteBIT link whose pair renewal left its spend marker and whose result is not in the vault (yet). The real
/// local Key Vault finishes a write it fully received even when its client has gone (<see cref="SlowWrite"/>), the way a
/// server does; so the holder's result may still land after the holder gave up on it. The link is held (nothing spent,
/// nothing deleted) while that can happen, then the result is adopted, or the flow ends and its key is removed while the
/// old access token still can.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingSpendInDoubtTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    /// <summary>Who finds the marker before the late write lands: the scheduled continuation, or a forced renewal (what unlink asks for).</summary>
    public enum Finder
    {
        Continuation,
        ForcedRenewal,
    }

    [Theory]
    [InlineData(Finder.Continuation)]
    [InlineData(Finder.ForcedRenewal)]
    public async Task A_renewal_whose_result_lands_after_its_holder_gave_up_is_adopted_not_thrown_away(Finder finder)
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        var uid = 641000 + (int)finder;
        await PendingKeyAsync(browser, uid);
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", row.AccountId);
        var versions = fixture.Environment.KeyVault.VersionsOf(row.CredentialName);
        var grant = fixture.Sandbox<OAuthBroker.Sandbox.Pages.StandardGrants>().Authenticate("whitebit", before.AccessToken).ShouldNotBeNull();

        // Two instances at this run's moment (RenewingRunAt: the 300 s access token lives; the 600 s refresh token would
        // expire before the next run could act, so this run renews). The holder's vault client waits 2 s for a write, once;
        // the vault takes 10 s to commit it and commits it all the same.
        await using var holder = await BrokerInstance.StartAsync(fixture, new ManualClock(RenewingRunAt), Settings(visibleWithin: "00:00:20"));
        await using var finderInstance = await BrokerInstance.StartAsync(fixture, new ManualClock(RenewingRunAt), Settings(visibleWithin: "00:00:20"));
        ShouldRenewThisRun(holder, row);
        await ProveWritesAsync(holder);
        RefreshOutcome found;
        fixture.Environment.KeyVault.SlowWrites(new SlowWrite(TimeSpan.FromSeconds(10), CommitLate: true, Method: "PUT"));
        try
        {
            var sweep = holder.Get<RefreshSweep>().RunAsync(default);
            var marked = await MarkedAfterHolderGaveUpAsync(browser.User, row.AccountId);
            fixture.Environment.KeyVault.VersionsOf(row.CredentialName).ShouldBe(versions, "the holder's result is not in the vault yet");

            // Busy: the holder's own run is looking at it that moment; the finder tries again, as the next look would. The
            // finder reads the row first, as its sweep would (its storage clock is set from that answer's Date).
            do
            {
                marked = (await finderInstance.Get<IAccountLinkStore>().GetAsync(browser.User, "whitebit", row.AccountId, default))!;
                found = finder == Finder.Continuation
                    ? await finderInstance.Get<PendingKeyContinuation>().ContinueAsync(marked, default)
                    : await finderInstance.Get<LinkRefresher>().RefreshAsync(browser.User, "whitebit", row.AccountId, LinkRefresher.Mode.Force, default);
            }
            while (found == RefreshOutcome.Busy);

            await sweep;
        }
        finally
        {
            fixture.Environment.KeyVault.SlowWrites(null);
            await fixture.Broker<IBrokerStateStore>().SetAsync(VaultWriteGate.StateKey, null, default);
        }

        found.ShouldBe(RefreshOutcome.OutcomeUnknown, "the marker is young: the link is held, not ended");
        var adopted = (await Store.GetAsync(browser.User, "whitebit", row.AccountId, default))!;
        adopted.Status.ShouldBe(LinkStatus.PendingKey);
        adopted.SpendingVersion.ShouldBeNull("the holder's late result was adopted");
        adopted.WaitingFor.ShouldBe("key_not_created");
        (await fixture.CredentialOfAsync(browser.User, "whitebit", row.AccountId)).RefreshToken.ShouldBe(grant.CurrentRefreshToken, "the pair WhiteBIT rotated to");
        grant.Revoked.ShouldBeFalse();

        // The user creates the key: at the next run (a minute after the holder's, whose clock set the adopted pair's next
        // look), the adopted pair fetches it, and nothing of the flow was deleted at WhiteBIT.
        Keys.FinishKeyCreation(uid.ToString(System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow);
        using (fixture.BrokerClock.AdvanceFor(RenewingRunAt + TimeSpan.FromMinutes(1)))
        {
            await fixture.Broker<ScheduledRun>().RunAsync(default);
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        (await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).RefreshToken.ShouldBe(grant.CurrentRefreshToken);
        Keys.KeysById.Values.Where(k => k.Account == uid.ToString(System.Globalization.CultureInfo.InvariantCulture)).ShouldAllBe(k => !k.Deleted);
    }

    [Fact]
    public async Task A_renewal_whose_result_never_lands_ends_the_flow_in_the_same_run_and_deletes_its_key_while_the_access_token_lives()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        const int uid = 641010;
        var account = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await PendingKeyAsync(browser, uid);
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        // The user has created the key meanwhile: WhiteBIT shows it at the next look, after the flow's first look saw none.
        Keys.FinishKeyCreation(account, DateTimeOffset.UtcNow);

        // The holder's result write is refused (403): nothing lands. Its run holds the link for the write's worst case
        // (2 s client + 2 s visibility here), then ends it, in the same run: the next run may act only after the 300 s
        // access token is dead, and the flow's key could no longer be deleted.
        await using var holder = await BrokerInstance.StartAsync(fixture, new ManualClock(RenewingRunAt), Settings(visibleWithin: "00:00:02"));
        ShouldRenewThisRun(holder, row);
        await ProveWritesAsync(holder);
        fixture.Environment.KeyVault.FailWrites(WriteFault.Forbidden);
        try
        {
            await holder.Get<RefreshSweep>().RunAsync(default);
        }
        finally
        {
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
            await fixture.Broker<IBrokerStateStore>().SetAsync(VaultWriteGate.StateKey, null, default);
        }

        var ended = (await Store.GetAsync(browser.User, "whitebit", row.AccountId, default))!;
        ended.Status.ShouldBe(LinkStatus.ReauthRequired);
        ended.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode, "the flow's key was deleted, so the reason is the renewal's, not key_left_at_whitebit");
        var keys = Keys.KeysById.Values.Where(k => k.Account == account).ToArray();
        keys.ShouldNotBeEmpty();
        keys.ShouldAllBe(k => k.Deleted);
    }

    /// <summary>
    /// How far the instances' clocks run ahead of the pending link's pair (issued as the test starts): its 300 s access
    /// token lives, with room for the run's in-run look (<see cref="PendingRenewalHorizon.RenewalRetryWindow"/>, 15 s at
    /// the default one-minute schedule), and its 600 s refresh token would expire before the next run could act
    /// (<see cref="PendingRenewalHorizon.NextRunActsBy"/>, about 425 s with <see cref="Settings"/>), so this run renews.
    /// </summary>
    private static readonly TimeSpan RenewingRunAt = TimeSpan.FromSeconds(210);

    /// <summary>
    /// A short lease budget (a spend's worst case is 8 s: two 2 s provider calls, one 2 s vault attempt, 2 s for clocks),
    /// the vault's write visibility <paramref name="visibleWithin"/>, a proof of writes that stays valid through the test,
    /// and a vault breaker that lets the next test spend. The short budget shrinks the next run's horizon, and so the
    /// stretch where a run must renew a pending pair while its access token lives; a long housekeeping budget (4 min)
    /// widens it again, as a slow housekeeping would, so that stretch holds <see cref="RenewingRunAt"/> with room on both sides.
    /// </summary>
    private static string[] Settings(string visibleWithin) =>
        [.. BrokerInstance.ShortBudget, "--Refresh:HousekeepingBudget=00:04:00", "--Refresh:VaultWriteProofWindow=00:10:00",
            "--Refresh:VaultBreakerDuration=00:00:03", $"--KeyVault:WriteVisibleWithin={visibleWithin}"];

    /// <summary>The test's premise: at the instance's clock, the pending pair is this run's to renew, its access token alive.</summary>
    private static void ShouldRenewThisRun(BrokerInstance instance, AccountLink row)
    {
        var now = instance.Clock.GetUtcNow();
        var horizon = instance.Get<PendingRenewalHorizon>();
        horizon.MustRenewThisRun(row, now).ShouldBeTrue($"the next run may act {horizon.Terms.Total} after this one: too soon for this run to have to renew");
        row.AccessTokenExpiresAt.ShouldNotBeNull().ShouldBeGreaterThan(now + horizon.RenewalRetryWindow + TimeSpan.FromSeconds(30), "the access token lives through the run's look");
    }

    /// <summary>The instance refreshes a Bybit link of its own: it has seen the vault take a write, so its renewal needs no proof write.</summary>
    private async Task ProveWritesAsync(BrokerInstance instance)
    {
        using var other = fixture.NewBrowser();
        var uid = 641900 + Random.Shared.Next(0, 99);
        await other.LinkAsync(uid);
        (await instance.Get<LinkRefresher>().RefreshAsync(other.User, "bybit", uid.ToString(System.Globalization.CultureInfo.InvariantCulture), LinkRefresher.Mode.Force, default))
            .ShouldBe(RefreshOutcome.Refreshed);
    }

    /// <summary>The pending row once its renewal was sent and the holder stopped waiting for the result's write (the marker stays, the lease is back).</summary>
    private async Task<AccountLink> MarkedAfterHolderGaveUpAsync(string user, string accountId)
    {
        for (var i = 0; i < 3000; i++)
        {
            var current = (await Store.GetAsync(user, "whitebit", accountId, default))!;
            if (current.SpendInDoubt && current.LeaseOwner is null && current.LastFailure is not null)
            {
                return current;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10));
        }

        throw new TimeoutException("The holder never gave up on its result's write.");
    }

    private static async Task PendingKeyAsync(BrowserSession browser, long uid)
    {
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"), uid);
        using var landed = await browser.GetRawAsync(callback);
        landed.StatusCode.ShouldBe(HttpStatusCode.Found);
        var pending = browser.PendingReturn(landed).ShouldNotBeNull();
        using var completed = await browser.CompleteAsync(pending.Provider, pending.Code);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await completed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("result").GetString().ShouldBe("pending_key");
    }
}
