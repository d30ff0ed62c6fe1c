using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The refresh engine against the real environment: Azurite (links, due index), the local vault, and sandbox
/// providers that rotate refresh tokens and revoke the whole grant when an old one comes back.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class RefreshLifecycleTests(BrokerEnvironmentFixture fixture)
{
    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();
    private LinkRefresher Refresher => fixture.Broker<LinkRefresher>();

    private async Task<(BrowserSession Browser, AccountLink Link)> LinkAsync(string provider = "bybit")
    {
        var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: provider);
        var view = (await browser.LinksAsync()).ShouldHaveSingleItem();
        return (browser, (await Links.GetAsync(browser.User, provider, view.AccountId, default))!);
    }

    private BybitSandboxState.Grant GrantOf(string refreshToken) =>
        fixture.Sandbox<BybitSandboxState>().Grants[fixture.Sandbox<BybitSandboxState>().RefreshTokens[refreshToken]];

    [Fact]
    public async Task A_due_link_is_refreshed_by_the_sweep_vault_first_and_the_refresh_token_rotates()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var before = await fixture.CredentialOfAsync(link.UserId, "bybit", link.AccountId);
        link.NextRefreshAt.ShouldNotBeNull();
        link.DueKey.ShouldNotBeNull();

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(24)))
        {
            var report = await fixture.Broker<RefreshSweep>().RunAsync(default);
            report.Count(RefreshOutcome.Refreshed).ShouldBeGreaterThanOrEqualTo(1);
        }

        var after = await fixture.CredentialOfAsync(link.UserId, "bybit", link.AccountId);
        var refreshed = (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!;
        after.RefreshToken.ShouldNotBe(before.RefreshToken);
        after.AccessToken.ShouldNotBe(before.AccessToken);
        after.ApiKey.ShouldBe(before.ApiKey, "the API key survives a refresh");
        after.ApiSecret.ShouldBe(before.ApiSecret);
        refreshed.LastRefreshAt.ShouldNotBeNull();
        refreshed.RefreshFailures.ShouldBe(0);
        refreshed.LeaseOwner.ShouldBeNull();
        refreshed.DueKey.ShouldNotBe(link.DueKey);
        refreshed.NextRefreshAt!.Value.ShouldBeGreaterThan(link.NextRefreshAt!.Value);
        var grant = GrantOf(after.RefreshToken!);
        grant.Revoked.ShouldBeFalse();
        grant.CurrentRefreshToken.ShouldBe(after.RefreshToken);
    }

    [Fact]
    public async Task A_link_that_is_not_due_is_left_alone()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;

        await fixture.Broker<RefreshSweep>().RunAsync(default);
        (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Due, default)).ShouldBe(RefreshOutcome.NotNeeded);
        (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.IfExpiring, default)).ShouldBe(RefreshOutcome.NotNeeded);

        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.LastRefreshAt.ShouldBeNull();
    }

    /// <summary>
    /// Writes into the link's secret what a refresher outside the lease would have stored: the result of refreshing the
    /// version the row names (the provider rotated the token), without the row knowing.
    /// </summary>
    private async Task<OAuthBroker.Providers.ProviderCredential> StoreUnrecordedSuccessorAsync(AccountLink link)
    {
        var vault = fixture.Broker<OAuthBroker.Credentials.ICredentialVault>();
        var pinned = (await vault.ReadVersionAsync(link.CredentialName, link.CredentialVersion!, default))!;
        var rotated = await fixture.Broker<OAuthBroker.Providers.ProviderCatalog>().Find("bybit")!.RefreshAsync(pinned.Credential, default);
        rotated.Succeeded.ShouldBeTrue();
        fixture.SeenSecrets.Add(rotated.Value!.AccessToken);
        fixture.SeenSecrets.Add(rotated.Value.RefreshToken);
        var successor = pinned.Credential with { AccessToken = rotated.Value.AccessToken, RefreshToken = rotated.Value.RefreshToken, AccessTokenExpiresAt = rotated.Value.AccessTokenExpiresAt };
        await vault.WriteAsync(link.CredentialName, pinned with { Credential = successor, StoredAt = DateTimeOffset.UtcNow, RefreshedFrom = pinned.Version }, default);
        return successor;
    }

    [Fact]
    public async Task Invalid_grant_is_retried_once_with_the_stored_result_of_that_token_then_the_link_needs_the_user()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        await StoreUnrecordedSuccessorAsync(link);
        // Both sends are refused (not processed): the one with the token the row names, then the one with its stored result.
        var refused = new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10004,"retMsg":"invalid refresh token"}""", "application/json", Times: 2);
        fixture.SandboxFaults.Add(refused);
        try
        {
            (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ReauthRequired);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        refused.Used.ShouldBe(2, "sent twice: the second time with the stored result's token");
        var stored = (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!;
        stored.Status.ShouldBe(LinkStatus.ReauthRequired);
        stored.LastFailure.ShouldBe("10004");
        stored.DueKey.ShouldBeNull("nothing is scheduled for a link only the user can repair");
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.ReauthRequired);
    }

    [Fact]
    public async Task Invalid_grant_with_a_stored_result_of_that_token_in_the_vault_spends_the_result_and_the_link_lives()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var successor = await StoreUnrecordedSuccessorAsync(link);
        // The token the row names is refused (it was rotated); the stored result's token is taken.
        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10004,"retMsg":"invalid refresh token"}""", "application/json"));
        try
        {
            (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var grant = GrantOf(successor.RefreshToken!);
        grant.Revoked.ShouldBeFalse();
        (await fixture.CredentialOfAsync(link.UserId, "bybit", link.AccountId)).RefreshToken.ShouldBe(grant.CurrentRefreshToken);
    }

    [Fact]
    public async Task Invalid_grant_is_not_retried_with_an_older_token_the_vault_shows_as_its_latest()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var v1 = (await fixture.SecretClient.GetSecretAsync(link.CredentialName)).Value;
        (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        // The first version, written again late: the vault's latest, older than what the row names.
        var stale = new Azure.Security.KeyVault.Secrets.KeyVaultSecret(link.CredentialName, v1.Value);
        stale.Properties.ContentType = v1.Properties.ContentType;
        await fixture.SecretClient.SetSecretAsync(stale);
        var refused = new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10004,"retMsg":"invalid refresh token"}""", "application/json", Times: 2);
        fixture.SandboxFaults.Add(refused);
        try
        {
            (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ReauthRequired);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        refused.Used.ShouldBe(1, "an older token is never a reason to send again");
    }

    [Fact]
    public async Task A_rejected_client_opens_one_provider_wide_breaker_instead_of_failing_every_link()
    {
        var (first, one) = await LinkAsync();
        var (second, two) = await LinkAsync();
        using var a = first;
        using var b = second;
        // Other tests in this environment may have opened the breaker before (each once): count only this test's lines.
        var alertsBefore = fixture.Logs.Lines.Count(l => l.Contains("rejects the broker's client credentials", StringComparison.Ordinal));
        // The token is sent once, in the configured reading of client_secret; 10003 opens the breaker.
        var refused = new Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10003,"retMsg":"invalid client"}""", "application/json");
        fixture.SandboxFaults.Add(refused);
        try
        {
            (await Refresher.RefreshAsync(one.UserId, "bybit", one.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ProviderMisconfigured);
            refused.Used.ShouldBe(1);
            // The fault is used up: were the second link sent to Bybit, it would refresh. The breaker keeps it home.
            (await Refresher.RefreshAsync(two.UserId, "bybit", two.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.ProviderMisconfigured);
            (await Links.GetAsync(one.UserId, "bybit", one.AccountId, default))!.Status.ShouldBe(LinkStatus.Active, "a broker-side problem is not the user's");
            fixture.Logs.Lines.Count(l => l.Contains("rejects the broker's client credentials", StringComparison.Ordinal)).ShouldBe(alertsBefore + 1);
        }
        finally
        {
            fixture.Broker<ProviderBreaker>().Reset("bybit");
            fixture.SandboxFaults.Clear();
        }

        (await Refresher.RefreshAsync(two.UserId, "bybit", two.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
    }

    [Fact]
    public async Task Transient_failures_back_off_honour_Retry_After_up_to_the_longest_delay_and_reads_wait_for_it()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        // A 429 without Retry-After: the provider's word that it did not process the request (RFC 6585 §4).
        var fault = new Fault("/bybit/oauth/v1/public/refresh_token", 429, "slow down");
        fixture.SandboxFaults.Add(fault);
        (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Retrying);
        var afterFirst = (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!;
        afterFirst.RefreshFailures.ShouldBe(1);
        afterFirst.NextRefreshAt!.Value.ShouldBeInRange(fixture.BrokerClock.GetUtcNow().AddSeconds(55), fixture.BrokerClock.GetUtcNow().AddMinutes(1.3));
        afterFirst.Status.ShouldBe(LinkStatus.Active);
        afterFirst.SpendingVersion.ShouldBeNull("a 429 says the provider did not process the request: nothing is in doubt");

        // Until the backoff has passed, on-demand refreshes do not call the provider again.
        (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.BackingOff);
        fault.Used.ShouldBe(1);

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(2)))
        {
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 429, "") { Headers = { ["Retry-After"] = "900" } });
            (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Retrying);
            var afterSecond = (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!;
            afterSecond.RefreshFailures.ShouldBe(2);
            afterSecond.NextRefreshAt!.Value.ShouldBeGreaterThanOrEqualTo(fixture.BrokerClock.GetUtcNow().AddSeconds(890));
        }

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(20)))
        {
            // A provider asking for a day is not waited for longer than Refresh:RetryMaxDelay (1 h).
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 429, "") { Headers = { ["Retry-After"] = "86400" } });
            (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Retrying);
            (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.NextRefreshAt!.Value.ShouldBeLessThanOrEqualTo(fixture.BrokerClock.GetUtcNow().AddHours(1.01));
        }

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(2)))
        {
            (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        }

        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.RefreshFailures.ShouldBe(0);
    }

    [Fact]
    public async Task The_old_refresh_token_is_kept_when_the_provider_returns_none()
    {
        var (browser, link) = await LinkAsync("builtbybit");
        using var _ = browser;
        var before = await fixture.CredentialOfAsync(link.UserId, "builtbybit", link.AccountId);
        fixture.SandboxFaults.Add(new Fault("/builtbybit/oauth2/token", 200, """{"access_token":"bbb_at_without_rotation","expires_in":3600,"token_type":"Bearer"}""", "application/json"));

        (await Refresher.RefreshAsync(link.UserId, "builtbybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);

        var after = await fixture.CredentialOfAsync(link.UserId, "builtbybit", link.AccountId);
        after.AccessToken.ShouldBe("bbb_at_without_rotation");
        after.RefreshToken.ShouldBe(before.RefreshToken);
    }

    [Fact]
    public async Task A_link_without_refresh_token_is_followed_to_its_expiry_and_marked_expired()
    {
        using var quickKey = OAuthBroker.Tests.Sandbox.SandboxSwitch.Set(fixture.SandboxOptions.WhiteBit, o => o.KeyCreatedAfter = TimeSpan.Zero); // WhiteBIT's key at the callback's look
        var (browser, link) = await LinkAsync("whitebit");
        using var _ = browser;
        link.HasRefreshToken.ShouldBeFalse();
        link.NextRefreshAt.ShouldBe(link.AccessTokenExpiresAt);

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(4.1)))
        {
            await fixture.Broker<RefreshSweep>().RunAsync(default);
        }

        var view = (await browser.LinksAsync()).ShouldHaveSingleItem();
        view.Status.ShouldBe(LinkStatus.Expired);
        (await Links.GetAsync(link.UserId, "whitebit", link.AccountId, default))!.DueKey.ShouldBeNull();
    }

    [Fact]
    public async Task Stale_due_entries_are_removed_without_touching_the_link()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var schedule = fixture.Broker<IRefreshSchedule>();
        var stale = await schedule.AddAsync(link, fixture.BrokerClock.GetUtcNow().AddMinutes(-1), default);

        (await Refresher.RefreshDueAsync(new DueEntry(stale, link.UserId, "bybit", link.AccountId, DateTimeOffset.UtcNow), default)).ShouldBe(RefreshOutcome.Gone);

        (await schedule.ListDueAsync(fixture.BrokerClock.GetUtcNow(), 1000, null, default)).ShouldNotContain(e => e.Key == stale);
        (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.ETag.ShouldBe(link.ETag);
    }

    [Fact]
    public async Task A_provider_timeout_leaves_the_outcome_unknown_and_the_token_unsent_again()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var before = await fixture.CredentialOfAsync(link.UserId, "bybit", link.AccountId);
        await using var instance = await BrokerInstance.StartAsync(fixture, null, BrokerInstance.ShortBudget);
        // Held up on its way: the client (2 s refresh call timeout) gives up first. It cannot tell whether the
        // provider got the request, so the token counts as possibly spent.
        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(4)));
        try
        {
            (await instance.Get<LinkRefresher>().RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.OutcomeUnknown);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var stored = (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!;
        stored.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
        stored.Status.ShouldBe(LinkStatus.Active);
        stored.LeaseOwner.ShouldBeNull("the lease is released");
        stored.SpendingVersion.ShouldNotBeNull();
        (await fixture.CredentialOfAsync(link.UserId, "bybit", link.AccountId)).RefreshToken.ShouldBe(before.RefreshToken);
        GrantOf(before.RefreshToken!).Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task An_access_tokens_expiry_is_counted_from_when_the_refresh_was_sent_not_when_its_answer_arrived()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        // The provider issues at once and its answer takes three seconds to come back.
        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(3)) { Phase = FaultPhase.AfterHandler });
        try
        {
            (await Refresher.RefreshAsync(link.UserId, "bybit", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var credential = await fixture.CredentialOfAsync(link.UserId, "bybit", link.AccountId);
        // Bybit's access token is a JWT whose exp the provider set when it issued it.
        using var claims = System.Text.Json.JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(credential.AccessToken.Split('.')[1]));
        var issuedExpiry = DateTimeOffset.FromUnixTimeSeconds(claims.RootElement.GetProperty("exp").GetInt64());
        var stored = (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!;
        stored.AccessTokenExpiresAt!.Value.ShouldBeLessThanOrEqualTo(issuedExpiry.AddSeconds(1), "never later than the provider's own expiry");
        credential.AccessTokenExpiresAt!.Value.ShouldBeLessThanOrEqualTo(issuedExpiry.AddSeconds(1));
    }

    [Fact]
    public async Task A_sweep_out_of_budget_stops_and_the_next_run_resumes()
    {
        var (browser, link) = await LinkAsync();
        using var _ = browser;
        var exhausted = Microsoft.Extensions.DependencyInjection.ActivatorUtilities.CreateInstance<RefreshSweep>(
            fixture.Environment.Broker.Services, Microsoft.Extensions.Options.Options.Create(new RefreshOptions { SweepBudget = TimeSpan.FromTicks(1) }));

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(24)))
        {
            var stopped = await exhausted.RunAsync(default);
            stopped.StoppedEarly.ShouldBeTrue();
            (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.LastRefreshAt.ShouldBeNull("nothing was started");

            await fixture.Broker<RefreshSweep>().RunAsync(default);
            (await Links.GetAsync(link.UserId, "bybit", link.AccountId, default))!.LastRefreshAt.ShouldNotBeNull("the next run picked it up");
        }
    }
}
