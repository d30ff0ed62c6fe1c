using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The lease is a fence: a refresher never spends beyond it. A lease that runs out mid-call (its holder stalled) does
/// not let a second instance spend the token the first one sent; a row changed after the result's write loses nothing;
/// and a lease too short for what a refresh can take is refused at start-up.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class LeaseFenceTests(BrokerEnvironmentFixture fixture)
{
    private const string RefreshPath = "/bybit/oauth/v1/public/refresh_token";

    [Fact]
    public async Task A_lease_that_runs_out_mid_call_never_lets_another_instance_spend_the_same_token()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 626262001);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "626262001");
        var links = fixture.Broker<IAccountLinkStore>();
        // The holder is its own process, with a 10 s lease. The provider rotates at once and answers a second later.
        await using var holder = await HandlerProcess.StartAsync(HandlerProcess.BuiltExecutable,
            arguments: fixture.Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal)).Concat(BrokerInstance.ShortBudget));
        var fault = new Fault(RefreshPath, 0, Delay: TimeSpan.FromSeconds(1)) { Phase = FaultPhase.AfterHandler };
        fixture.SandboxFaults.Add(fault);
        Task<HttpResponseMessage> call;
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(holder.Uri, $"api/links/bybit/626262001/refresh?userId={browser.User}"));
            request.Headers.Add("X-Api-Key", fixture.BackendKey);
            call = http.SendAsync(request);
            for (var i = 0; i < 300 && fault.Used == 0; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20));
            }

            fault.Used.ShouldBe(1, "the refresh reached the provider");
            // Mid-call, the holder stops (a frozen VM, a long pause): its timers do not run, its lease does.
            await holder.PauseAsync();
            var leased = (await links.GetAsync(browser.User, "bybit", "626262001", default))!;
            leased.SpendingVersion.ShouldNotBeNull();
            while (leased.LeaseUntil is { } until && until > DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }

            // The lease has run out on the storage service's clock, the call has not: another instance wants the link.
            (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "626262001", LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.OutcomeUnknown, "the token the holder sent may be rotated; nobody sends it again");
            await holder.ResumeAsync();
            using var answered = await call;
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
        grant.RefreshCount.ShouldBe(1, "one spend, by the holder");
        grant.Revoked.ShouldBeFalse("the rotated token's predecessor never reached the provider again");
        var link = (await links.GetAsync(browser.User, "bybit", "626262001", default))!;
        link.Status.ShouldBe(LinkStatus.Active);
        var vaulted = await fixture.Broker<OAuthBroker.Credentials.ICredentialVault>().ReadVersionAsync(link.CredentialName, link.CredentialVersion!, default);
        if (link.SpendInDoubt)
        {
            // The resumed holder's own timers ran out before it read the answer: the outcome stays unknown.
            link.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
            vaulted!.Credential.RefreshToken.ShouldBe(before.RefreshToken);
        }
        else
        {
            // The resumed holder read the answer, stored it and recorded it over the row nobody else had spent from.
            vaulted!.Credential.RefreshToken.ShouldBe(grant.CurrentRefreshToken);
            link.LastRefreshAt.ShouldNotBeNull();
        }
    }

    [Fact]
    public async Task A_row_changed_under_a_refresh_after_its_vault_write_is_recorded_when_it_still_names_the_spend()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 626262002);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "626262002");
        var links = fixture.Broker<IAccountLinkStore>();
        var (refresh, written) = await RefreshUntilResultWrittenAsync(browser.User, "626262002");
        try
        {
            // After the result's write, before the row's: a writer that ignores the lease changes the row (not the spend).
            await links.ReplaceAsync(written with { LastFailure = "changed_under_the_refresh" }, default);
        }
        finally
        {
            fixture.Environment.KeyVault.SlowWrites(null);
        }

        (await refresh).ShouldBe(RefreshOutcome.Refreshed, "the row still records this spend: the result is recorded over it");
        var row = (await links.GetAsync(browser.User, "bybit", "626262002", default))!;
        row.SpendingVersion.ShouldBeNull();
        row.LastFailure.ShouldBeNull();
        var after = await fixture.CredentialOfAsync(browser.User, "bybit", "626262002");
        var grant = GrantOf(before.RefreshToken!);
        after.RefreshToken.ShouldBe(grant.CurrentRefreshToken);
        grant.Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task A_row_taken_over_after_the_vault_write_loses_nothing_the_next_refresher_finds_the_result()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 626262003);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "626262003");
        var links = fixture.Broker<IAccountLinkStore>();
        var (refresh, written) = await RefreshUntilResultWrittenAsync(browser.User, "626262003");
        AccountLink taken;
        try
        {
            // After the result's write, another holder has the lease (a takeover after a stall on the storage side).
            taken = await links.ReplaceAsync(written with { LeaseOwner = "refresh-elsewhere", LeaseUntil = DateTimeOffset.UtcNow.AddSeconds(5) }, default);
        }
        finally
        {
            fixture.Environment.KeyVault.SlowWrites(null);
        }

        (await refresh).ShouldBe(RefreshOutcome.LeaseLost, "the lost lease is detected and reported");
        (await fixture.CredentialOfAsync(browser.User, "bybit", "626262003")).RefreshToken.ShouldBe(GrantOf(before.RefreshToken!).CurrentRefreshToken, "the result is vaulted");
        await links.ReplaceAsync(taken with { LeaseOwner = null, LeaseUntil = null }, default);

        // The row is behind and still records the spend; the next refresher finds that spend's result and spends it.
        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "626262003", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        var after = await fixture.CredentialOfAsync(browser.User, "bybit", "626262003");
        var grant = GrantOf(before.RefreshToken!);
        grant.Revoked.ShouldBeFalse();
        grant.RefreshCount.ShouldBe(3, "one refresh before, the one whose row was taken, and the one that found its result");
        grant.CurrentRefreshToken.ShouldBe(after.RefreshToken);
    }

    /// <summary>
    /// Refreshes once (so this instance has just seen the vault take a write and needs no proof write), then starts a
    /// refresh whose result's write commits at once and is answered two seconds later, and returns once the vault holds
    /// that result, with the row as it is then.
    /// </summary>
    private async Task<(Task<RefreshOutcome> Refresh, AccountLink Row)> RefreshUntilResultWrittenAsync(string user, string account)
    {
        var links = fixture.Broker<IAccountLinkStore>();
        (await fixture.Broker<LinkRefresher>().RefreshAsync(user, "bybit", account, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        var row = (await links.GetAsync(user, "bybit", account, default))!;
        var versions = fixture.Environment.KeyVault.VersionsOf(row.CredentialName);
        fixture.Environment.KeyVault.SlowWrites(new OAuthBroker.LocalKeyVault.SlowWrite(TimeSpan.FromSeconds(2), CommitLate: false, Method: "PUT"));
        try
        {
            var refresh = fixture.Broker<LinkRefresher>().RefreshAsync(user, "bybit", account, LinkRefresher.Mode.Force, default);
            for (var i = 0; i < 400 && fixture.Environment.KeyVault.VersionsOf(row.CredentialName) == versions; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10));
            }

            fixture.Environment.KeyVault.VersionsOf(row.CredentialName).ShouldBe(versions + 1, "the result is written, its answer not back yet");
            return (refresh, (await links.GetAsync(user, "bybit", account, default))!);
        }
        catch
        {
            fixture.Environment.KeyVault.SlowWrites(null);
            throw;
        }
    }

    private BybitSandboxState.Grant GrantOf(string refreshToken) =>
        fixture.Sandbox<BybitSandboxState>().Grants[fixture.Sandbox<BybitSandboxState>().RefreshTokens[refreshToken]];

    [Fact]
    public async Task A_lease_shorter_than_what_one_refresh_can_take_is_refused_at_start_up()
    {
        // 10 s lease, 30 s refresh calls (the default): the lease could lapse while the holder still waits.
        var refused = await Should.ThrowAsync<OptionsValidationException>(async () =>
        {
            var app = BrokerInstance.Create(fixture, new ManualClock(), out _, "--Refresh:LeaseDuration=00:00:10");
            try
            {
                await app.StartAsync();
            }
            finally
            {
                await app.DisposeAsync();
            }
        });
        refused.Message.ShouldContain("LeaseDuration");
    }

    [Fact]
    public async Task The_lease_budget_covers_pacing_provider_calls_vault_retries_and_clock_allowance()
    {
        await using var instance = await BrokerInstance.StartAsync(fixture, null, BrokerInstance.ShortBudget);
        var options = instance.Get<IOptions<RefreshOptions>>().Value;
        var budget = options.BudgetWith(instance.Get<OAuthBroker.Credentials.IVaultWriteBudget>().WorstCaseWrite);

        budget.Pacing.ShouldBe(TimeSpan.FromSeconds(1));
        budget.Spend.ShouldBe(TimeSpan.FromSeconds(4), "two provider calls of 2 s");
        budget.VaultWrite.ShouldBe(TimeSpan.FromSeconds(2), "one attempt of 2 s, no retries");
        budget.ClockAllowance.ShouldBe(TimeSpan.FromSeconds(2));
        budget.Total.ShouldBeLessThanOrEqualTo(options.LeaseDuration);
    }
}
