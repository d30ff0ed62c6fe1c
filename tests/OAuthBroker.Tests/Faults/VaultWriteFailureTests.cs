using OAuthBroker.Links;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Faults;

/// <summary>
/// A vault that keeps reading but stops writing (a role without set, sustained throttling, a failover's read-only
/// mode in both readings) must not cost tokens: a refresh token spent now could not be stored, and the next refresh
/// would send the superseded one. All spending stops at once, on every instance, and resumes when writes work again.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class VaultWriteFailureTests(BrokerEnvironmentFixture fixture)
{
    private const int LinkCount = 4;

    public static TheoryData<WriteFault> Refusals => new()
    {
        WriteFault.Forbidden,
        WriteFault.Throttled,
        WriteFault.ReadOnlyForbidden,
        WriteFault.ReadOnlyUnavailable,
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_vault_that_reads_but_does_not_write_costs_no_token_on_any_instance(WriteFault refusal)
    {
        var linked = new List<(BrowserSession Browser, string Account, OAuthBroker.Providers.ProviderCredential Before)>();
        for (var i = 0; i < LinkCount; i++)
        {
            var browser = fixture.NewBrowser();
            var account = (646464000 + (i * 10) + (int)refusal).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await browser.LinkAsync(uid: long.Parse(account, System.Globalization.CultureInfo.InvariantCulture));
            linked.Add((browser, account, await fixture.CredentialOfAsync(browser.User, "bybit", account)));
        }

        // A fresh instance, a day ahead so every link is due, that has not written to the vault yet.
        await using var sweeper = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromHours(24)),
            [.. BrokerInstance.ShortBudget, "--Refresh:LeaseDuration=00:00:20", "--KeyVault:MaxRetries=1", "--KeyVault:RetryAfterCap=00:00:02", "--Refresh:VaultBreakerDuration=00:00:03"]);
        fixture.Environment.KeyVault.FailWrites(refusal);
        try
        {
            var report = await sweeper.Get<RefreshSweep>().RunAsync(default);
            report.Count(RefreshOutcome.Refreshed).ShouldBe(0);

            // Every other instance stops at once too (the breaker is shared through storage).
            var (browser, account, _) = linked[0];
            (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.VaultWritesBlocked);
        }
        finally
        {
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
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

    private async Task CheckAndRecoverAsync(List<(BrowserSession Browser, string Account, OAuthBroker.Providers.ProviderCredential Before)> linked)
    {
        var state = fixture.Sandbox<BybitSandboxState>();
        var spent = linked.Count(l => state.Grants[state.RefreshTokens[l.Before.RefreshToken!]].RefreshCount > 0);
        spent.ShouldBeLessThanOrEqualTo(1, "at most one token may be spent before the failure is known");
        foreach (var (browser, account, before) in linked)
        {
            var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
            grant.Revoked.ShouldBeFalse();
            var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
            row.Status.ShouldBe(LinkStatus.Active);
            if (grant.RefreshCount == 0)
            {
                row.LastRefreshAt.ShouldBeNull("untouched");
                row.SpendingVersion.ShouldBeNull();
                (await fixture.CredentialOfAsync(browser.User, "bybit", account)).RefreshToken.ShouldBe(before.RefreshToken);
            }
        }

        // Once the breaker's time is up, one write proves the vault works again, and refreshing resumes everywhere.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var (first, firstAccount, firstBefore) = linked.First(l => state.Grants[state.RefreshTokens[l.Before.RefreshToken!]].RefreshCount == 0);
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

            // Everyone else stops at once.
            (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "646464801", LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.VaultWritesBlocked);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
            fixture.Environment.KeyVault.FailWrites(WriteFault.None);
            await fixture.Broker<IBrokerStateStore>().SetAsync(VaultWriteGate.StateKey, null, default);
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
