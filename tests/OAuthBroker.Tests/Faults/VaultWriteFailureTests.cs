using OAuthBroker.Links;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Faults;

/// <summary>
/// A vault that keeps reading but stops writing (a role without set, sustained throttling, a failover's read-only
/// mode in both readings) must not cost tokens: a refresh token spent now could not be stored, and the next refresh
/// would send the superseded one. All spending stops at once, on every instance (also one that saw a write work a moment
/// ago), and resumes when writes work again.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class VaultWriteFailureTests(BrokerEnvironmentFixture fixture)
{
    private const int LinkCount = 4;

    /// <summary>Each refusal, and for throttling both readings of the undocumented Retry-After (none; 30 s).</summary>
    public static TheoryData<WriteFault, int?> Refusals => new()
    {
        { WriteFault.Forbidden, null },
        { WriteFault.Throttled, null },
        { WriteFault.Throttled, 30 },
        { WriteFault.ReadOnlyForbidden, null },
        { WriteFault.ReadOnlyUnavailable, null },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_vault_that_reads_but_does_not_write_costs_no_token_and_stops_every_instance(WriteFault refusal, int? retryAfterSeconds)
    {
        var linked = new List<(BrowserSession Browser, string Account, OAuthBroker.Providers.ProviderCredential Before)>();
        for (var i = 0; i < LinkCount; i++)
        {
            var browser = fixture.NewBrowser();
            var account = (646464000 + (i * 100) + ((int)refusal * 10) + (retryAfterSeconds is null ? 0 : 1)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await browser.LinkAsync(uid: long.Parse(account, System.Globalization.CultureInfo.InvariantCulture));
            linked.Add((browser, account, await fixture.CredentialOfAsync(browser.User, "bybit", account)));
        }

        var other = await OtherWithFreshProofAsync();
        // A fresh instance, a day ahead so every link is due, that has not written to the vault yet. One retry: without
        // a Retry-After, Azure.Core backs off exponentially and tries again; with one longer than the cap it does not wait.
        await using var sweeper = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromHours(24)),
            [.. BrokerInstance.ShortBudget, "--Refresh:LeaseDuration=00:00:20", "--KeyVault:MaxRetries=1", "--KeyVault:RetryAfterCap=00:00:02", "--Refresh:VaultBreakerDuration=00:00:03"]);
        fixture.Environment.KeyVault.ThrottleRetryAfter = retryAfterSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
        fixture.Environment.KeyVault.FailWrites(refusal);
        try
        {
            var report = await sweeper.Get<RefreshSweep>().RunAsync(default);
            report.Count(RefreshOutcome.Refreshed).ShouldBe(0);

            // The other instance proved the vault writable seconds ago: without the shared breaker it would spend now.
            var (browser, account, before) = linked[0];
            (await other.Instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.VaultWritesBlocked, "the breaker is shared through storage");
        }
        finally
        {
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
            fixture.Environment.KeyVault.ThrottleRetryAfter = null;
            await other.DisposeAsync();
        }

        try
        {
            await CheckAndRecoverAsync(linked);
        }
        finally
        {
            // Leave no open breaker behind for the tests that follow.
            await fixture.Broker<IBrokerStateStore>().SetAsync(VaultWriteGate.StateKey, null, default);
            foreach (var (browser, _, _) in linked)
            {
                browser.Dispose();
            }
        }
    }

    /// <summary>
    /// Another instance whose last vault write worked a moment ago, with a proof window long enough that it would not
    /// prove the vault again before spending: only the shared breaker can stop it.
    /// </summary>
    private async Task<(BrokerInstance Instance, BrowserSession Browser, Func<ValueTask> DisposeAsync)> OtherWithFreshProofAsync()
    {
        var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "bybit");
        var account = (await browser.LinksAsync()).Single().AccountId;
        var instance = await BrokerInstance.StartAsync(fixture, null, [.. BrokerInstance.ShortBudget, "--Refresh:VaultWriteProofWindow=00:10:00"]);
        (await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        return (instance, browser, async () =>
        {
            browser.Dispose();
            await instance.DisposeAsync();
        }
        );
    }

    private async Task CheckAndRecoverAsync(List<(BrowserSession Browser, string Account, OAuthBroker.Providers.ProviderCredential Before)> linked)
    {
        var state = fixture.Sandbox<BybitSandboxState>();
        var spent = linked.Count(l => state.Grants[state.RefreshTokens[l.Before.RefreshToken!]].RefreshCount > 0);
        spent.ShouldBe(0, "nothing is spent before a write has worked: the fresh instance proves the vault first");
        foreach (var (browser, account, before) in linked)
        {
            var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
            grant.Revoked.ShouldBeFalse();
            var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
            row.Status.ShouldBe(LinkStatus.Active);
            row.LastRefreshAt.ShouldBeNull("untouched");
            row.SpendingVersion.ShouldBeNull();
            (await fixture.CredentialOfAsync(browser.User, "bybit", account)).RefreshToken.ShouldBe(before.RefreshToken);
        }

        // Once the breaker's time is up, one write proves the vault works again, and refreshing resumes everywhere.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var (first, firstAccount, firstBefore) = linked[0];
        (await fixture.Broker<LinkRefresher>().RefreshAsync(first.User, "bybit", firstAccount, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        (await fixture.Broker<IBrokerStateStore>().GetAsync(VaultWriteGate.StateKey, default)).ShouldBeNull("the breaker closed");
        state.Grants[state.RefreshTokens[firstBefore.RefreshToken!]].Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task A_vault_that_stops_writing_while_a_refresh_is_in_flight_costs_that_token_and_stops_the_rest()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 646464801);
        await browser.LinkAsync(uid: 646464802);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "646464802");
        var other = await OtherWithFreshProofAsync();
        await using var instance = await BrokerInstance.StartAsync(fixture, null, [.. BrokerInstance.ShortBudget, "--Refresh:VaultBreakerDuration=00:00:03"]);
        var refresher = instance.Get<LinkRefresher>();
        // A write that worked just now: the next refresh goes ahead without proving the vault again.
        (await refresher.RefreshAsync(browser.User, "bybit", "646464801", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        var inFlight = new OAuthBroker.Sandbox.Faults.Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(1)) { Phase = OAuthBroker.Sandbox.Faults.FaultPhase.AfterHandler };
        fixture.SandboxFaults.Add(inFlight);
        try
        {
            var refresh = refresher.RefreshAsync(browser.User, "bybit", "646464802", LinkRefresher.Mode.Force, default);
            for (var i = 0; i < 200 && inFlight.Used == 0; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25));
            }

            // The vault stops writing while the provider is answering.
            fixture.Environment.KeyVault.FailWrites(WriteFault.Forbidden);
            (await refresh).ShouldBe(RefreshOutcome.ResultLost);

            // Everyone else stops at once, even an instance that saw a write work a moment ago.
            (await other.Instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", "646464801", LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.VaultWritesBlocked);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
            await fixture.Broker<IBrokerStateStore>().SetAsync(VaultWriteGate.StateKey, null, default);
            await other.DisposeAsync();
        }

        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "646464802", default))!;
        row.LastFailure.ShouldBe("refresh_result_unstored");
        row.SpendingVersion.ShouldNotBeNull("the token sent is possibly spent and is never sent again");
        row.Status.ShouldBe(LinkStatus.Active, "its access token is served until it expires");
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
        grant.RefreshCount.ShouldBe(1);
        grant.Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task A_result_write_the_vault_does_not_answer_in_time_trips_the_breaker_and_its_late_result_is_found()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 646464901);
        await browser.LinkAsync(uid: 646464902);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "646464902");
        var other = await OtherWithFreshProofAsync();
        // No vault retries (KeyVault:MaxRetries=0): a write not answered within KeyVault:NetworkTimeout (2 s) fails as it is.
        await using var instance = await BrokerInstance.StartAsync(fixture, null, [.. BrokerInstance.ShortBudget, "--Refresh:VaultBreakerDuration=00:00:03"]);
        var refresher = instance.Get<LinkRefresher>();
        (await refresher.RefreshAsync(browser.User, "bybit", "646464901", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        // The vault commits writes at once and answers them after 4 s.
        fixture.Environment.KeyVault.SlowWrites(new SlowWrite(TimeSpan.FromSeconds(4), CommitLate: false, Method: "PUT"));
        try
        {
            (await refresher.RefreshAsync(browser.User, "bybit", "646464902", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ResultLost);
            (await other.Instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", "646464901", LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.VaultWritesBlocked, "a vault that does not answer writes stops every instance");
        }
        finally
        {
            fixture.Environment.KeyVault.SlowWrites(null);
            await other.DisposeAsync();
        }

        // The write had landed: once the breaker's time is up, the next refresher finds that spend's result and goes on.
        await Task.Delay(TimeSpan.FromSeconds(4));
        try
        {
            (await refresher.RefreshAsync(browser.User, "bybit", "646464902", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            await fixture.Broker<IBrokerStateStore>().SetAsync(VaultWriteGate.StateKey, null, default);
        }

        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
        grant.RefreshCount.ShouldBe(2, "the lost answer's token once, then its stored result's");
        grant.Revoked.ShouldBeFalse();
        (await fixture.CredentialOfAsync(browser.User, "bybit", "646464902")).RefreshToken.ShouldBe(grant.CurrentRefreshToken);
    }

    [Fact]
    public async Task A_credential_too_large_to_store_once_refreshed_is_not_spent_and_says_why()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 646464999);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "646464999");
        // A secret holds 25 KB; here the limit is set below this link's document to stand in for a large one.
        await using var instance = await BrokerInstance.StartAsync(fixture, null, [.. BrokerInstance.ShortBudget, "--Refresh:MaxCredentialBytes=512"]);

        (await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", "646464999", LinkRefresher.Mode.Force, default))
            .ShouldBe(RefreshOutcome.CredentialTooLarge);

        var state = fixture.Sandbox<BybitSandboxState>();
        state.Grants[state.RefreshTokens[before.RefreshToken!]].RefreshCount.ShouldBe(0);
        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "646464999", default))!;
        row.LastFailure.ShouldBe("credential_too_large");
        row.NextRefreshAt.ShouldBe(row.AccessTokenExpiresAt, "the user is told when the access token expires");
    }
}
