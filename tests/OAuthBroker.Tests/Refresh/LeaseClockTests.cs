using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// Instances whose clocks disagree (as different machines' do) share leases fairly: lease times are written and judged
/// on the storage service's clock, so a clock running ahead can neither take a live lease early nor pin one.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class LeaseClockTests(BrokerEnvironmentFixture fixture)
{
    private const string RefreshPath = "/bybit/oauth/v1/public/refresh_token";

    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();

    private BybitSandboxState.Grant GrantOf(string refreshToken) =>
        fixture.Sandbox<BybitSandboxState>().Grants[fixture.Sandbox<BybitSandboxState>().RefreshTokens[refreshToken]];

    [Fact]
    public async Task An_instance_whose_clock_runs_ahead_does_not_take_a_live_lease_and_spend_the_same_token()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 616161001);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "616161001");
        // Three minutes ahead: further than a lease lasts on the fixture's instance.
        await using var ahead = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromMinutes(3)));
        fixture.SandboxFaults.Add(new Fault(RefreshPath, 0, Delay: TimeSpan.FromSeconds(4)));
        try
        {
            // The fixture's instance takes the lease and waits at the provider.
            var holder = fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "616161001", LinkRefresher.Mode.Force, default);
            await WaitUntilLeasedAsync(browser.User, "616161001");

            var intruder = await ahead.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", "616161001", LinkRefresher.Mode.Force, default);

            intruder.ShouldBe(RefreshOutcome.Busy, "the lease is live on the storage service's clock, whatever this instance's says");
            (await holder).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var after = await fixture.CredentialOfAsync(browser.User, "bybit", "616161001");
        var grant = GrantOf(after.RefreshToken!);
        grant.Revoked.ShouldBeFalse("the token was spent once");
        grant.RefreshCount.ShouldBe(1);
        GrantOf(before.RefreshToken!).ShouldBeSameAs(grant);
    }

    [Fact]
    public async Task A_lease_taken_by_a_clock_running_ahead_ends_when_the_storage_clock_says()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 616161002);
        await using var ahead = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromHours(1)));
        var leaseDuration = ahead.Get<Microsoft.Extensions.Options.IOptions<RefreshOptions>>().Value.LeaseDuration;
        fixture.SandboxFaults.Add(new Fault(RefreshPath, 0, Delay: TimeSpan.FromSeconds(3)));
        try
        {
            var refresh = ahead.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", "616161002", LinkRefresher.Mode.Force, default);
            var leased = await WaitUntilLeasedAsync(browser.User, "616161002");

            // Azurite runs on this machine's real clock: the lease must end within one lease duration of it.
            (leased.LeaseUntil!.Value - DateTimeOffset.UtcNow).ShouldBeLessThanOrEqualTo(leaseDuration + TimeSpan.FromSeconds(5));
            (await refresh).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }
    }

    [Fact]
    public async Task A_lease_reaching_further_ahead_than_any_holder_could_take_does_not_pin_the_link()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 616161003);
        var link = (await Links.GetAsync(browser.User, "bybit", "616161003", default))!;
        // As written by an instance whose clock ran an hour ahead (or a broker from before leases used the storage clock).
        await Links.ReplaceAsync(link with { LeaseOwner = "refresh-elsewhere", LeaseUntil = DateTimeOffset.UtcNow.AddHours(1) }, default);

        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "616161003", LinkRefresher.Mode.Force, default))
            .ShouldBe(RefreshOutcome.Refreshed);
    }

    private async Task<AccountLink> WaitUntilLeasedAsync(string user, string account)
    {
        for (var i = 0; i < 100; i++)
        {
            var link = await Links.GetAsync(user, "bybit", account, default);
            if (link?.LeaseOwner is not null)
            {
                return link;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("The refresher never took the lease.");
    }
}
