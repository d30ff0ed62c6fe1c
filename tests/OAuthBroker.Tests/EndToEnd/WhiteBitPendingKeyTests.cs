using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Events;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// WhiteBIT's key after the callback: fast-api-key-integration step 0.6 puts key creation after the exchange ("User->>WhiteBIT:
/// Select key permissions, confirm with 2FA … Create the partner key"), and api-key-secret answers 423 "Temporary lock,
/// retry shortly" while another retrieval holds the lock. The callback does not wait for either: the user confirms a
/// pending_key link, and the scheduled run continues it.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingKeyTests(BrokerEnvironmentFixture fixture) : IDisposable
{
    private TimeSpan _advanced;

    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    [Theory]
    [InlineData(FastTokenReading.ShortLivedWithRefresh)]
    [InlineData(FastTokenReading.FourHoursNoRefresh)]
    public async Task The_callback_answers_before_the_key_exists_and_the_scheduled_run_links_it_once_the_user_created_it(FastTokenReading tokens)
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = tokens; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        var uid = 610000 + (int)tokens;

        var completion = await PendingKeyAsync(browser, uid);

        completion.GetProperty("result").GetString().ShouldBe("pending_key");
        completion.GetProperty("waitingFor").GetString().ShouldBe("key_not_created");
        var pending = (await browser.LinksAsync()).ShouldHaveSingleItem();
        pending.Status.ShouldBe(LinkStatus.PendingKey);
        pending.WaitingFor.ShouldBe("key_not_created");
        pending.HasApiKey.ShouldBeFalse();
        (await ProviderFlowSteps.ForceRefreshAsync(fixture, "whitebit", pending.AccountId, browser.User)).ShouldBe(HttpStatusCode.ServiceUnavailable, "no credential is served before the key exists");

        // Not created yet: a run looks and waits again.
        await RunScheduledAsync(TimeSpan.FromSeconds(2));
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.PendingKey);

        Keys.FinishKeyCreation(uid.ToString(System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow).ShouldBe(1);
        await RunScheduledAsync(TimeSpan.FromSeconds(4));

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        link.HasApiKey.ShouldBeTrue();
        link.HasRefreshToken.ShouldBe(tokens == FastTokenReading.ShortLivedWithRefresh);
        var key = Keys.KeysById[link.AccountId];
        (await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).ApiSecret.ShouldBe(key.Secret);
        var events = await EventLogReading.OfUserAsync(fixture.Broker<IEventLog>(), browser.User);
        events.Select(e => e.Type).ShouldBe([LinkEventTypes.Created, LinkEventTypes.WhiteBitKeyReady], ignoreOrder: true);
        events.ShouldAllBe(e => e.AccountId == link.AccountId);
        EventLogReading.ShouldHoldNoSecret(fixture, events);
    }

    [Fact]
    public async Task A_423_lock_on_the_secret_is_waited_out_by_later_runs_with_a_growing_backoff()
    {
        // api-key-secret 423 "Temporary lock, retry shortly", sent without Retry-After; the guide: back off from 5 s, doubling, up to 60 s.
        // The key is there at the callback's look (no creation delay), so the callback already meets the lock.
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreatedAfter = TimeSpan.Zero; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();

        var completion = await PendingKeyAsync(browser, 620001);
        completion.GetProperty("waitingFor").GetString().ShouldBe("key_locked");
        var first = (await browser.LinksAsync()).ShouldHaveSingleItem();

        await RunScheduledAsync(TimeSpan.FromSeconds(6));
        var second = (await browser.LinksAsync()).ShouldHaveSingleItem();
        second.Status.ShouldBe(LinkStatus.PendingKey);
        second.WaitingFor.ShouldBe("key_locked");
        (second.NextRefreshAt!.Value - second.UpdatedAt).ShouldBeGreaterThan(first.NextRefreshAt!.Value - first.UpdatedAt, "the wait doubles");

        WhiteBit.SecretLockedFor = TimeSpan.Zero;
        await RunScheduledAsync(TimeSpan.FromSeconds(17));
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        Keys.KeysById[link.AccountId].Deleted.ShouldBeFalse();
    }

    [Fact]
    public async Task In_the_newest_reading_an_access_token_that_expired_while_waiting_is_renewed_and_the_rotated_pair_is_linked()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 630001);
        var placeholder = (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId;
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", placeholder);

        Keys.FinishKeyCreation("630001", DateTimeOffset.UtcNow);
        // Six minutes on: the 300 s access token has expired (the refresh token's 600 s have not).
        await RunScheduledAsync(TimeSpan.FromMinutes(6));

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        var after = await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId);
        after.AccessToken.ShouldNotBe(before.AccessToken);
        after.RefreshToken.ShouldNotBe(before.RefreshToken, "refresh-token: the pair is replaced on every refresh");
        after.ApiSecret.ShouldBe(Keys.KeysById[link.AccountId].Secret);
    }

    [Fact]
    public async Task In_the_older_reading_the_4_hour_token_outlives_the_wait_and_links_without_renewal()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.FourHoursNoRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        using var refreshes = CountRefreshes();
        await PendingKeyAsync(browser, 640001);

        Keys.FinishKeyCreation("640001", DateTimeOffset.UtcNow);
        await RunScheduledAsync(TimeSpan.FromMinutes(6));

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        link.HasRefreshToken.ShouldBeFalse();
        refreshes.Fault.Used.ShouldBe(0);
    }

    [Theory]
    [InlineData(FastTokenReading.ShortLivedWithRefresh)]
    [InlineData(FastTokenReading.FourHoursNoRefresh)]
    public async Task Past_its_deadline_a_pending_key_is_abandoned_the_flows_own_key_deleted_and_the_link_asks_to_connect_again(FastTokenReading tokens)
    {
        var uid = 650000 + (int)tokens;
        var account = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var bystander = fixture.NewBrowser();
        using (SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.Zero))
        {
            await bystander.LinkAsync(uid: uid + 100, provider: "whitebit");
        }

        var bystanderKey = (await bystander.LinksAsync()).ShouldHaveSingleItem().AccountId;
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = tokens; o.KeyCreatedAfter = TimeSpan.MaxValue; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, uid);
        var started = fixture.BrokerClock.GetUtcNow();

        // The user creates the key (its secret locked, 423), then WhiteBIT's key endpoints answer 429 with a Retry-After of
        // 15 minutes for longer than Broker:PendingKeyLifetime: every run retries, no sooner than asked unless it must.
        Keys.FinishKeyCreation(account, DateTimeOffset.UtcNow);
        await RunScheduledAsync(TimeSpan.FromSeconds(2));
        var flowsKey = Keys.KeysById.Values.Where(k => k.Account == account).ShouldHaveSingleItem();
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key", 429, "{}", "application/json", Times: 10_000) { Headers = { ["Retry-After"] = "900" } });
        try
        {
            // The runs come when the link asks (nextRefreshAt), as the timer's would. WhiteBIT refuses an expired refresh
            // token (refresh-token: 600 s in the newest reading), so the one held must be alive at every run: the pair is
            // renewed ahead of time, and no look is scheduled past its expiry.
            for (var run = 0; run < 200; run++)
            {
                var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
                if (row.Status != LinkStatus.PendingKey)
                {
                    break;
                }

                var now = fixture.BrokerClock.GetUtcNow();
                var next = row.NextRefreshAt!.Value > now ? row.NextRefreshAt.Value : now + TimeSpan.FromSeconds(1);
                var held = await fixture.CredentialOfAsync(browser.User, "whitebit", row.AccountId);
                if (held.RefreshToken is not null)
                {
                    held.RefreshTokenExpiresAt!.Value.ShouldBeGreaterThan(next, $"run {run}: the refresh token held must still be alive when the next run comes");
                }

                if (next > started + TimeSpan.FromMinutes(20))
                {
                    // WhiteBIT answers again; the deadline has passed by the next run.
                    fixture.SandboxFaults.Clear();
                }

                await RunScheduledAsync(next - now);
            }
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldBe("pending_key_timeout");
        flowsKey.Deleted.ShouldBeTrue("a key nobody holds would block the next attempt (one active key per user and partner)");
        Keys.KeysById[bystanderKey].Deleted.ShouldBeFalse();
        var events = await EventLogReading.OfUserAsync(fixture.Broker<IEventLog>(), browser.User);
        var keyFailed = events.ShouldHaveSingleItem();
        keyFailed.Type.ShouldBe(LinkEventTypes.WhiteBitKeyFailed);
        keyFailed.Reason.ShouldBe("pending_key_timeout");

        // The user gives up the failed link: nothing is left.
        var (status, _, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", failed.AccountId);
        status.ShouldBe(HttpStatusCode.OK);
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_secret_locked_past_the_423_budget_ends_the_pending_link_key_locked_and_deletes_the_flows_key()
    {
        // api-key-secret 423 without Retry-After; the guide backs off for 3–5 minutes in all (PendingLockedTotalWait: 5 min),
        // a final budget, not a transient failure retried until Broker:PendingKeyLifetime (20 min).
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreatedAfter = TimeSpan.MaxValue; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 621001);
        Keys.FinishKeyCreation("621001", DateTimeOffset.UtcNow);
        await RunScheduledAsync(TimeSpan.FromSeconds(2));
        (await browser.LinksAsync()).ShouldHaveSingleItem().WaitingFor.ShouldBe("key_locked");
        var flowsKey = Keys.KeysById.Values.Where(k => k.Account == "621001").ShouldHaveSingleItem();

        await RunScheduledAsync(TimeSpan.FromMinutes(6));

        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldBe("key_locked");
        flowsKey.Deleted.ShouldBeTrue("nobody holds its secret, and it would block the next attempt");
    }

    [Fact]
    public async Task A_run_cancelled_after_the_secret_was_requested_still_links_the_key_whose_secret_WhiteBIT_handed_out()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 672001);
        Keys.FinishKeyCreation("672001", DateTimeOffset.UtcNow);
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        // WhiteBIT hands the secret out (once: 409 afterwards) while its answer is still on the way; the run is cancelled meanwhile.
        var slow = new Fault("/whitebit/oauth2/api-key/", 0, Delay: TimeSpan.FromSeconds(1)) { PathSuffix = "/secret", Phase = FaultPhase.AfterHandler };
        fixture.SandboxFaults.Add(slow);
        RefreshOutcome outcome;
        try
        {
            using var cancelled = new CancellationTokenSource();
            var continuing = fixture.Broker<PendingKeyContinuation>().ContinueAsync(row, cancelled.Token);
            await slow.Processed.WaitAsync(TimeSpan.FromSeconds(30));
            await cancelled.CancelAsync();
            outcome = await continuing;
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        outcome.ShouldBe(RefreshOutcome.Refreshed);
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        Keys.KeysById[link.AccountId].Deleted.ShouldBeFalse();
        (await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).ApiSecret.ShouldBe(Keys.KeysById[link.AccountId].Secret);
    }

    [Fact]
    public async Task A_second_pending_flow_for_the_same_account_never_deletes_the_key_the_first_one_linked_and_says_why()
    {
        // One active key per (user, partner): both flows see the key the user creates once. The second must not take it for
        // its own (a 409 on the secret would otherwise mean "delete and restart").
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 660001);
        await PendingKeyAsync(browser, 660001);
        var rows = (await Store.ListAsync(browser.User, default)).OrderBy(l => l.CreatedAt).ToArray();
        rows.Length.ShouldBe(2);

        Keys.FinishKeyCreation("660001", DateTimeOffset.UtcNow).ShouldBe(2);
        // One after the other, as the sweep's per-link order may take them.
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(rows[0], default)).ShouldBe(RefreshOutcome.Refreshed);
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync((await Store.GetAsync(browser.User, "whitebit", rows[1].AccountId, default))!, default))
            .ShouldBe(RefreshOutcome.ReauthRequired);

        var links = await browser.LinksAsync();
        var linked = links.Where(l => l.Status == LinkStatus.Active).ShouldHaveSingleItem();
        Keys.KeysById[linked.AccountId].Deleted.ShouldBeFalse();
        links.Where(l => l.Status == LinkStatus.ReauthRequired).ShouldHaveSingleItem().LastFailure.ShouldBe("key_already_exists");
        var (_, outcome, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", linked.AccountId);
        outcome.ShouldBe("revoked", "the linked key still works");
    }

    [Fact]
    public async Task An_unconfirmed_pending_key_flow_discarded_later_never_deletes_the_key_another_flow_of_the_user_linked()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        // Flow A: the callback finds no key yet, and its return page never completes (the user closed the tab).
        using (var abandoned = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync("whitebit"), 671001)))
        {
            browser.PendingReturn(abandoned).ShouldNotBeNull();
        }

        // Flow B: the user tries again, completes, creates the key, and the scheduled run links it.
        await PendingKeyAsync(browser, 671001);
        Keys.FinishKeyCreation("671001", DateTimeOffset.UtcNow).ShouldBeGreaterThanOrEqualTo(1);
        await RunScheduledAsync(TimeSpan.FromSeconds(4));
        var linked = (await browser.LinksAsync()).ShouldHaveSingleItem();
        linked.Status.ShouldBe(LinkStatus.Active);

        // Housekeeping discards flow A once its pending window has passed: what it may remove is a key it created, never
        // the one B linked.
        await RunScheduledAsync(TimeSpan.FromMinutes(6));

        Keys.KeysById[linked.AccountId].Deleted.ShouldBeFalse("the linked key is the user's link, not the abandoned flow's");
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.Active);
    }

    [Fact]
    public async Task A_pending_key_whose_named_credential_version_the_vault_does_not_show_yet_waits_instead_of_using_an_earlier_one()
    {
        // Right after a renewal the row names a version a lagging vault read may not show yet ("within 60 seconds" on a
        // vault allow-listed for throughput, Key Vault throttling guidance); the latest visible one is the rotated-out pair.
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 673001);
        var pending = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        Keys.FinishKeyCreation("673001", DateTimeOffset.UtcNow).ShouldBe(1);
        var lagging = await Store.ReplaceAsync(pending with { CredentialVersion = "0123456789abcdef0123456789abcdef" }, default);

        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(lagging!, default)).ShouldBe(RefreshOutcome.Deferred);
        var after = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        after.Status.ShouldBe(LinkStatus.PendingKey, "nothing linked from a credential the row does not name");
        after.LeaseOwner.ShouldBeNull();

        // Once the vault shows it, the next look links the key.
        var visible = await Store.ReplaceAsync(after with { CredentialVersion = pending.CredentialVersion }, default);
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(visible!, default)).ShouldBe(RefreshOutcome.Refreshed);
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.Active);
    }

    [Fact]
    public async Task A_pending_key_left_by_an_instance_that_died_mid_step_is_continued_by_another_once_its_lease_lapses()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 670001);
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        // What a killed instance leaves: its lease on the row, nothing else (the tokens are in the vault, the progress on the row).
        var leaseClock = fixture.Broker<ILeaseClock>();
        await Store.ReplaceAsync(row with { LeaseOwner = "pending-killed", LeaseUntil = leaseClock.UtcNow + TimeSpan.FromSeconds(4) }, default);
        Keys.FinishKeyCreation("670001", DateTimeOffset.UtcNow);

        await using var other = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromSeconds(3)), BrokerInstance.ShortBudget);
        (await other.Get<PendingKeyContinuation>().ContinueAsync((await Store.GetAsync(browser.User, "whitebit", row.AccountId, default))!, default))
            .ShouldBe(RefreshOutcome.Busy, "the dead holder's lease is respected until it lapses");

        var outcome = RefreshOutcome.Busy;
        for (var i = 0; i < 60 && outcome == RefreshOutcome.Busy; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            var current = await Store.GetAsync(browser.User, "whitebit", row.AccountId, default);
            outcome = current is null ? RefreshOutcome.Gone : await other.Get<PendingKeyContinuation>().ContinueAsync(current, default);
        }

        outcome.ShouldBe(RefreshOutcome.Refreshed);
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.Active);
    }

    [Fact]
    public async Task Two_instances_continuing_the_same_pending_key_at_once_spend_the_rotating_refresh_token_once()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 680001);
        Keys.FinishKeyCreation("680001", DateTimeOffset.UtcNow);
        // Each refresh takes a second at the provider, so both instances are in the middle of it together.
        var refreshes = new Fault("/whitebit/oauth2/refresh_token", 0, Delay: TimeSpan.FromSeconds(1), Times: 10);
        fixture.SandboxFaults.Add(refreshes);
        try
        {
            await using var other = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromMinutes(6)));
            using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6));
            await Task.WhenAll(fixture.Broker<ScheduledRun>().RunAsync(default), other.Get<ScheduledRun>().RunAsync(default));
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        refreshes.Used.ShouldBe(1, "only the lease holder spends the refresh token");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        (await ProviderFlowSteps.ForceRefreshAsync(fixture, "whitebit", link.AccountId, browser.User)).ShouldBe(HttpStatusCode.OK, "the stored pair is the live one");
    }

    [Fact]
    public async Task Unlinking_while_the_key_is_awaited_removes_the_pending_link()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 690001);
        var pending = (await browser.LinksAsync()).ShouldHaveSingleItem();

        var (status, _, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", pending.AccountId);

        status.ShouldBe(HttpStatusCode.OK);
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    /// <summary>Start, consent, callback (asserted to answer at once with a pending return), and the completion step's answer.</summary>
    private static async Task<JsonElement> PendingKeyAsync(BrowserSession browser, long uid)
    {
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"), uid);
        using var landed = await browser.GetRawAsync(callback);
        landed.StatusCode.ShouldBe(HttpStatusCode.Found);
        var pending = browser.PendingReturn(landed).ShouldNotBeNull("the callback redirects to the return page without waiting for the key");
        using var completed = await browser.CompleteAsync(pending.Provider, pending.Code);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await completed.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The scheduled run (refresh sweep and housekeeping), <paramref name="later"/> from now on the broker's clock.</summary>
    private async Task RunScheduledAsync(TimeSpan later)
    {
        fixture.BrokerClock.Advance(later);
        _advanced += later;
        await fixture.Broker<ScheduledRun>().RunAsync(default);
    }

    /// <summary>The shared clock goes back to where the next test expects it.</summary>
    public void Dispose() => fixture.BrokerClock.Advance(-_advanced);

    private CountedFault CountRefreshes()
    {
        var fault = new Fault("/whitebit/oauth2/refresh_token", 0, Times: 100);
        fixture.SandboxFaults.Add(fault);
        return new CountedFault(fault, fixture.SandboxFaults);
    }

    private sealed record CountedFault(Fault Fault, FaultInjector Faults) : IDisposable
    {
        public void Dispose() => Faults.Clear();
    }
}
