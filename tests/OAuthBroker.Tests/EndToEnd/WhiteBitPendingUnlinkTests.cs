using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage.Links;
using OAuthBroker.Tests.Events;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// A pending WhiteBIT key (LinkStatus.PendingKey) and a second broker instance acting on it at the worst moment: the
/// user's unlink gives the lease back so the refresher can renew the pair it deletes the key with (api-key-delete takes
/// only a live bearer token), and the failure path deletes the flow's key while WhiteBIT answers 423 "Temporary lock,
/// retry shortly" (the API-key endpoints' error table, fast-api-key-integration; no Retry-After). Both run against the
/// sandbox, Azurite and the local vault; the other instance is the fixture's broker.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingUnlinkTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    [Fact]
    public async Task An_unlink_of_a_pending_key_wins_over_another_instances_sweep_that_finds_the_key_ready_while_the_pair_is_renewed()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 691001);
        var pending = (await browser.LinksAsync()).ShouldHaveSingleItem();
        Keys.FinishKeyCreation("691001", DateTimeOffset.UtcNow).ShouldBe(1);

        // Six minutes on for both instances: the 300 s access token has expired (the refresh token's 600 s have not), so
        // the unlink must renew before it can delete the key, and the other instance's sweep finds the link due.
        using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6));
        var sweptInTheGap = false;
        var gap = new GapStore(browser.User, async () =>
        {
            // The moment the unlink has given the lease back, before its renewal takes one: the other instance's sweep.
            await fixture.Broker<ScheduledRun>().RunAsync(default);
            sweptInTheGap = true;
        });
        await using var unlinking = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromMinutes(6)),
            services => services.Replace(ServiceDescriptor.Singleton<IAccountLinkStore>(sp => gap.Over(sp.GetRequiredService<TableAccountLinkStore>()))));

        using var answer = await browser.Http.DeleteAsync(new Uri(unlinking.Uri, $"api/links/whitebit/{Uri.EscapeDataString(pending.AccountId)}"));
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();

        sweptInTheGap.ShouldBeTrue("the other instance's sweep ran in the gap");
        answer.StatusCode.ShouldBe(HttpStatusCode.OK, body.ToString());
        body.GetProperty("revocation").GetString().ShouldBe("revoked");
        Keys.KeysById.Values.Where(k => k.Account == "691001").ShouldHaveSingleItem().Deleted.ShouldBeTrue("the key the flow created is deleted at WhiteBIT");
        (await Store.ListAsync(browser.User, default)).ShouldBeEmpty("the user asked to unlink: no link is left, active or pending");
        var events = await EventLogReading.OfUserAsync(fixture.Broker<IEventLog>(), browser.User);
        events.ShouldNotContain(e => e.Type == LinkEventTypes.WhiteBitKeyReady, "the sweep never linked the key");
    }

    [Fact]
    public async Task An_unlink_intent_left_by_an_instance_that_died_keeps_sweeps_off_the_key_until_it_lapses()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.FourHoursNoRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 693001);
        Keys.FinishKeyCreation("693001", DateTimeOffset.UtcNow).ShouldBe(1);
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        // What an unlink that died after giving the lease back leaves: its intent on the row, no lease.
        var leases = fixture.Broker<LinkLeases>();
        var fresh = await Store.ReplaceAsync(row with { UnlinkRequestedAt = leases.Now }, default);
        var continuation = fixture.Broker<PendingKeyContinuation>();

        (await continuation.ContinueAsync(fresh, default)).ShouldBe(RefreshOutcome.Busy, "the unlink decides the link's end");
        var untouched = (await Store.GetAsync(browser.User, "whitebit", row.AccountId, default))!;
        untouched.Status.ShouldBe(LinkStatus.PendingKey);
        untouched.ETag.ShouldBe(fresh.ETag, "not even a lease was taken");

        // Once the intent is older than the unlink could still be acting on it, the link goes on as if it were never there.
        var lapsed = await Store.ReplaceAsync(untouched with { UnlinkRequestedAt = leases.Now - leases.UnlinkIntentLifetime - TimeSpan.FromSeconds(1) }, default);
        (await continuation.ContinueAsync(lapsed, default)).ShouldBe(RefreshOutcome.Refreshed);
        var linked = (await browser.LinksAsync()).ShouldHaveSingleItem();
        linked.Status.ShouldBe(LinkStatus.Active);
        Keys.KeysById[linked.AccountId].Deleted.ShouldBeFalse();
    }

    [Fact]
    public async Task A_sweep_under_an_unlink_intent_renews_a_pair_whose_refresh_token_would_die_before_the_next_run_and_leaves_the_key_to_the_unlink()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 696001);
        Keys.FinishKeyCreation("696001", DateTimeOffset.UtcNow).ShouldBe(1);

        // Six minutes on: the access token (300 s) has expired and the refresh token (600 s) would die before the next
        // run, so this sweep is the last that can renew the pair. An unlink under way has left its intent on the row.
        using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6));
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        fixture.Broker<PendingRenewalHorizon>().MustRenewThisRun(row, fixture.BrokerClock.GetUtcNow()).ShouldBeTrue();
        await Store.ReplaceAsync(row with { UnlinkRequestedAt = fixture.Broker<LinkLeases>().Now }, default);

        await fixture.Broker<ScheduledRun>().RunAsync(default);

        var renewed = (await Store.GetAsync(browser.User, "whitebit", row.AccountId, default)).ShouldNotBeNull("the key was not linked: the pending link is still there");
        renewed.Status.ShouldBe(LinkStatus.PendingKey);
        renewed.LastRefreshAt.ShouldNotBeNull().ShouldBeGreaterThan(row.LastRefreshAt ?? row.CreatedAt, "the sweep renewed the pair");
        renewed.LeaseOwner.ShouldBeNull();
        Keys.KeysById.Values.Where(k => k.Account == "696001").ShouldAllBe(k => !k.Deleted);
        (await EventLogReading.OfUserAsync(fixture.Broker<IEventLog>(), browser.User)).ShouldNotContain(e => e.Type == LinkEventTypes.WhiteBitKeyReady);

        // The unlink then deletes the flow's key with the renewed pair.
        using var answer = await browser.UnlinkAsync("whitebit", row.AccountId);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        answer.StatusCode.ShouldBe(HttpStatusCode.OK, body.ToString());
        body.GetProperty("revocation").GetString().ShouldBe("revoked");
        Keys.KeysById.Values.Where(k => k.Account == "696001").ShouldHaveSingleItem().Deleted.ShouldBeTrue("the key the flow created is deleted at WhiteBIT");
        (await Store.ListAsync(browser.User, default)).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_key_deletion_after_a_rejected_renewal_that_outlasts_the_lease_keeps_it_so_no_other_instance_acts_under_it()
    {
        // The user has created the key, and its secret is locked (api-key-secret 423): a look finds the key and waits.
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 692001);
        Keys.FinishKeyCreation("692001", DateTimeOffset.UtcNow).ShouldBe(1);
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync((await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem(), default)).ShouldBe(RefreshOutcome.Deferred);
        var pending = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        pending.WaitingFor.ShouldBe("key_locked");
        var flowsKey = Keys.KeysById.Where(k => k.Value.Account == "692001").ShouldHaveSingleItem();

        // The renewing instance holds 10 s leases (BrokerInstance.ShortBudget). WhiteBIT refuses the refresh token
        // (refresh-token's documented 400), so the flow ends and deletes its key; the deletion meets 423 twice and
        // waits 5 s, then 10 s (the guide's back-off from 5 s, doubling): longer than the lease.
        await using var renewing = await BrokerInstance.StartAsync(fixture, null,
        [
            .. BrokerInstance.ShortBudget,
            "--Providers:whitebit:LockedInitialBackoff=00:00:05",
            "--Providers:whitebit:LockedMaxBackoff=00:00:10",
            "--Providers:whitebit:KeyDeletionLockedTotalWait=00:00:20",
        ]);
        var rejected = new Fault("/whitebit/oauth2/refresh_token", 400, """{"data":{"token":["Invalid token."]}}""", "application/json");
        var locked = new Fault("/whitebit/oauth2/api-key/", 423, """{"data":{"message":["Temporary lock, retry shortly."]}}""", "application/json", Times: 2) { PathSuffix = flowsKey.Key };
        fixture.SandboxFaults.Add(rejected);
        fixture.SandboxFaults.Add(locked);
        var others = new List<RefreshOutcome>();
        RefreshOutcome ended;
        try
        {
            var ending = renewing.Get<LinkRefresher>().RefreshAsync(browser.User, "whitebit", pending.AccountId, LinkRefresher.Mode.Force, default);
            // Meanwhile the other instance looks at the link, as its sweep would, twice a second.
            while (!ending.IsCompleted)
            {
                await Task.WhenAny(ending, Task.Delay(TimeSpan.FromMilliseconds(500)));
                if (!ending.IsCompleted && await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default) is { Status: LinkStatus.PendingKey } current)
                {
                    others.Add(await fixture.Broker<PendingKeyContinuation>().ContinueAsync(current, default));
                }
            }

            ended = await ending;
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        rejected.Used.ShouldBe(1);
        locked.Used.ShouldBe(2, "the deletion waited out both locks");
        others.ShouldNotBeEmpty();
        others.ShouldAllBe(o => o == RefreshOutcome.Busy, "the lease was held through the deletion");
        ended.ShouldBe(RefreshOutcome.ReauthRequired);
        flowsKey.Value.Deleted.ShouldBeTrue();
        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem("no link of the key was made under the deletion");
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldNotBe(PendingKeyContinuation.KeyLeftCode, "the key was deleted");
        var row = (await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default))!;
        row.LeaseOwner.ShouldBeNull();
    }

    [Fact]
    public async Task An_unlinks_key_deletion_that_outlasts_the_lease_keeps_it_so_no_other_instance_links_the_key_under_it()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 697001);
        Keys.FinishKeyCreation("697001", DateTimeOffset.UtcNow).ShouldBe(1);
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync((await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem(), default)).ShouldBe(RefreshOutcome.Deferred);
        var pending = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var flowsKey = Keys.KeysById.Where(k => k.Value.Account == "697001").ShouldHaveSingleItem();

        // The unlinking instance holds 10 s leases; its deletion of the flow's key meets 423 twice and waits 5 s, then
        // 10 s: longer than the lease. Meanwhile the key's secret becomes readable, so an instance holding the link
        // would link the key.
        await using var unlinking = await BrokerInstance.StartAsync(fixture, null,
        [
            .. BrokerInstance.ShortBudget,
            "--Providers:whitebit:LockedInitialBackoff=00:00:05",
            "--Providers:whitebit:LockedMaxBackoff=00:00:10",
            "--Providers:whitebit:KeyDeletionLockedTotalWait=00:00:20",
        ]);
        var locked = new Fault("/whitebit/oauth2/api-key/", 423, """{"data":{"message":["Temporary lock, retry shortly."]}}""", "application/json", Times: 2) { PathSuffix = flowsKey.Key };
        fixture.SandboxFaults.Add(locked);
        var others = new List<RefreshOutcome>();
        HttpResponseMessage answer;
        try
        {
            var deleting = browser.Http.DeleteAsync(new Uri(unlinking.Uri, $"api/links/whitebit/{Uri.EscapeDataString(pending.AccountId)}"));
            while (!deleting.IsCompleted)
            {
                await Task.WhenAny(deleting, Task.Delay(TimeSpan.FromMilliseconds(500)));
                if (!deleting.IsCompleted && locked.Used > 0 && await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default) is { Status: LinkStatus.PendingKey } current)
                {
                    WhiteBit.SecretLockedFor = TimeSpan.Zero;
                    others.Add(await fixture.Broker<PendingKeyContinuation>().ContinueAsync(current, default));
                }
            }

            answer = await deleting;
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        using (answer)
        {
            var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
            answer.StatusCode.ShouldBe(HttpStatusCode.OK, body.ToString());
            body.GetProperty("revocation").GetString().ShouldBe("revoked");
        }

        locked.Used.ShouldBe(2, "the deletion waited out both locks");
        others.ShouldNotBeEmpty();
        others.ShouldAllBe(o => o == RefreshOutcome.Busy, "the unlink's lease was held through the deletion");
        flowsKey.Value.Deleted.ShouldBeTrue();
        (await Store.ListAsync(browser.User, default)).ShouldBeEmpty("no link of the key was made under the deletion");
    }

    [Fact]
    public async Task A_key_deletion_stops_when_its_lease_runs_out_while_a_renewal_hangs_and_the_instance_that_took_it_wins()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 695001);
        Keys.FinishKeyCreation("695001", DateTimeOffset.UtcNow).ShouldBe(1);
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync((await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem(), default)).ShouldBe(RefreshOutcome.Deferred);
        var pending = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var flowsKey = Keys.KeysById.Where(k => k.Value.Account == "695001").ShouldHaveSingleItem();

        // As in the test above: 10 s leases, the refresh token rejected, the deletion meeting 423 twice (waiting 5 s,
        // then 10 s). Once the deletion has started, the renewing instance's storage stops answering for one lease
        // renewal (HangingRenewalStore): the write never arrives and the client gives up 40 s later, far past the lease.
        var locked = new Fault("/whitebit/oauth2/api-key/", 423, """{"data":{"message":["Temporary lock, retry shortly."]}}""", "application/json", Times: 2) { PathSuffix = flowsKey.Key };
        var hanging = new HangingRenewalStore(browser.User, () => locked.Used > 0, TimeSpan.FromSeconds(40));
        await using var renewing = await BrokerInstance.StartAsync(fixture, null,
            services => services.Replace(ServiceDescriptor.Singleton<IAccountLinkStore>(sp => hanging.Over(sp.GetRequiredService<TableAccountLinkStore>()))),
        [
            .. BrokerInstance.ShortBudget,
            "--Providers:whitebit:LockedInitialBackoff=00:00:05",
            "--Providers:whitebit:LockedMaxBackoff=00:00:10",
            "--Providers:whitebit:KeyDeletionLockedTotalWait=00:01:00",
        ]);
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/refresh_token", 400, """{"data":{"token":["Invalid token."]}}""", "application/json"));
        fixture.SandboxFaults.Add(locked);
        var others = new List<RefreshOutcome>();
        RefreshOutcome ended;
        try
        {
            var ending = renewing.Get<LinkRefresher>().RefreshAsync(browser.User, "whitebit", pending.AccountId, LinkRefresher.Mode.Force, default);
            var giveUp = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(2);
            // The other instance looks at the link twice a second, as its sweep would, until the flow has ended there too.
            while (DateTimeOffset.UtcNow < giveUp)
            {
                await Task.WhenAny(ending, Task.Delay(TimeSpan.FromMilliseconds(500)));
                var current = await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default);
                if (current is { Status: LinkStatus.PendingKey })
                {
                    if (locked.Used > 0)
                    {
                        // The user's key becomes readable while the deletion waits: an instance holding the link would link it.
                        WhiteBit.SecretLockedFor = TimeSpan.Zero;
                    }

                    others.Add(await fixture.Broker<PendingKeyContinuation>().ContinueAsync(current, default));
                }
                else if (ending.IsCompleted)
                {
                    break;
                }
            }

            ended = await ending;
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        hanging.Hung.ShouldBeTrue("a lease renewal hung during the deletion");
        ended.ShouldBe(RefreshOutcome.LeaseLost, "the lease ran out under the deletion");
        others.ShouldContain(RefreshOutcome.Refreshed, "the other instance took the lapsed lease and linked the key");
        flowsKey.Value.Deleted.ShouldBeFalse("the deletion stopped when the lease ran out, before the other instance linked the key");
        var linked = (await browser.LinksAsync()).ShouldHaveSingleItem();
        linked.Status.ShouldBe(LinkStatus.Active, "the state of the instance that took the lease wins");
        linked.AccountId.ShouldBe(flowsKey.Key);

        // Nothing left for later tests' sweeps (its 300 s access token would be renewed at the shared sandbox).
        using var unlinked = await browser.UnlinkAsync("whitebit", linked.AccountId);
        unlinked.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    /// <summary>Start, consent, callback (asserted to answer at once with a pending return), and the completion step.</summary>
    private static async Task PendingKeyAsync(BrowserSession browser, long uid)
    {
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"), uid);
        using var landed = await browser.GetRawAsync(callback);
        landed.StatusCode.ShouldBe(HttpStatusCode.Found);
        var pending = browser.PendingReturn(landed).ShouldNotBeNull();
        using var completed = await browser.CompleteAsync(pending.Provider, pending.Code);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetString().ShouldBe("pending_key");
    }

    /// <summary>
    /// The seam: the unlinking instance's own link store (the real one underneath), which runs <c>inTheGap</c> once, right
    /// after the user's unlink wrote its lease back on the user's pending link (an "unlink-" owner followed by none),
    /// and before anything else of that instance touches the row.
    /// </summary>
    private sealed class GapStore(string user, Func<Task> inTheGap)
    {
        private bool _unlinkHeld;
        private bool _ran;

        public IAccountLinkStore Over(IAccountLinkStore inner) => new Wrapped(inner, this);

        private async Task AfterReplaceAsync(AccountLink written)
        {
            if (written.UserId != user || _ran)
            {
                return;
            }

            if (written.LeaseOwner?.StartsWith("unlink-", StringComparison.Ordinal) == true)
            {
                _unlinkHeld = true;
            }
            else if (_unlinkHeld && written.LeaseOwner is null && written.Status == LinkStatus.PendingKey)
            {
                _ran = true;
                await inTheGap();
            }
        }

        private sealed class Wrapped(IAccountLinkStore inner, GapStore gap) : ForwardingLinkStore(inner)
        {
            public override async Task<AccountLink> ReplaceAsync(AccountLink link, CancellationToken ct)
            {
                var written = await Inner.ReplaceAsync(link, ct);
                await gap.AfterReplaceAsync(written);
                return written;
            }
        }
    }
}
