using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The lease is a fence: a refresher never acts beyond it. A provider slower than the lease does not let a second
/// instance spend the token the first one sent, and a lease too short for what a refresh can take is refused at start-up.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class LeaseFenceTests(BrokerEnvironmentFixture fixture)
{
    private const string RefreshPath = "/bybit/oauth/v1/public/refresh_token";

    [Fact]
    public async Task A_provider_slower_than_the_lease_never_lets_another_instance_spend_the_same_token()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 626262001);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "626262001");
        // A 12 s lease while a provider call may take a minute: the old engine accepted this, and its lease lapsed mid-call.
        await using var slow = await BrokerInstance.StartAsync(fixture, null,
            [.. BrokerInstance.ShortBudget, "--Refresh:LeaseDuration=00:00:12", "--Broker:ProviderTimeout=00:01:00"]);
        // The provider rotates the token at once and answers only after 20 s: longer than the lease.
        var fault = new Fault(RefreshPath, 0, Delay: TimeSpan.FromSeconds(20)) { Phase = FaultPhase.AfterHandler };
        fixture.SandboxFaults.Add(fault);
        try
        {
            var holder = slow.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", "626262001", LinkRefresher.Mode.Force, default);
            // Past the holder's lease, another instance wants the link.
            await Task.Delay(TimeSpan.FromSeconds(13));
            var second = await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "626262001", LinkRefresher.Mode.Force, default);

            second.ShouldNotBe(RefreshOutcome.Refreshed, "the token the first refresher sent may be rotated; nobody sends it again");
            (await holder).ShouldBe(RefreshOutcome.OutcomeUnknown);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        fault.Used.ShouldBe(1);
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
        grant.Revoked.ShouldBeFalse("the rotated token's predecessor never reached the provider again");
        grant.RefreshCount.ShouldBe(1);
        var link = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "626262001", default))!;
        link.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
        link.Status.ShouldBe(LinkStatus.Active, "the access token is still valid and is served until it expires");
    }

    [Fact]
    public async Task A_row_changed_under_a_refresh_after_its_vault_write_loses_nothing()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 626262002);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "626262002");
        var links = fixture.Broker<IAccountLinkStore>();
        var answer = new Fault(RefreshPath, 0, Delay: TimeSpan.FromSeconds(1)) { Phase = FaultPhase.AfterHandler };
        fixture.SandboxFaults.Add(answer);
        try
        {
            var refresh = fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "626262002", LinkRefresher.Mode.Force, default);
            for (var i = 0; i < 200 && answer.Used == 0; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25));
            }

            // A writer that ignores the lease (or takes over a lease lost to a stalled storage call) changes the row.
            var row = (await links.GetAsync(browser.User, "bybit", "626262002", default))!;
            await links.ReplaceAsync(row with { LastFailure = "changed_under_the_refresh" }, default);

            (await refresh).ShouldBe(RefreshOutcome.LeaseLost, "the lost lease is detected and reported");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        (await fixture.CredentialOfAsync(browser.User, "bybit", "626262002")).RefreshToken.ShouldNotBe(before.RefreshToken, "the new credential is vaulted");
        // The row is behind; the next refresher finds the newer version in the vault and spends the newest token.
        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "626262002", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        var after = await fixture.CredentialOfAsync(browser.User, "bybit", "626262002");
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[after.RefreshToken!]];
        grant.Revoked.ShouldBeFalse();
        grant.CurrentRefreshToken.ShouldBe(after.RefreshToken);
    }

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
