using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// A link another instance holds is theirs: an instance that cannot act on it (its provider disabled there, or its
/// breaker open) does not park it under the holder's lease, which would make the holder's own writes fail.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class HeldLinkTests(BrokerEnvironmentFixture fixture)
{
    public static TheoryData<string> WhyNot => ["provider disabled", "breaker open"];

    [Theory]
    [MemberData(nameof(WhyNot))]
    public async Task A_link_held_by_another_instance_is_not_parked_under_its_lease(string whyNot)
    {
        using var browser = fixture.NewBrowser();
        var account = whyNot == "provider disabled" ? "949494001" : "949494002";
        await browser.LinkAsync(uid: long.Parse(account, System.Globalization.CultureInfo.InvariantCulture));
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", account);
        // A day ahead (the link is due there); the provider switched off there, or its breaker open. Otherwise configured
        // as the holder is (the same lease duration: a lease longer than an instance's own is taken for a pinned one).
        await using var other = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromHours(24)),
            whyNot == "provider disabled" ? ["--Providers:bybit:Enabled=false"] : []);
        if (whyNot == "breaker open")
        {
            other.Get<ProviderBreaker>().Trip("bybit", TimeSpan.FromMinutes(5));
        }

        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(3)));
        try
        {
            var holder = fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default);
            for (var i = 0; i < 100 && (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!.SpendingVersion is null; i++)
            {
                await Task.Delay(50);
            }

            (await other.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Due, default))
                .ShouldBe(RefreshOutcome.Busy, whyNot);
            (await holder).ShouldBe(RefreshOutcome.Refreshed, "the holder's own writes went through");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
        row.SpendingVersion.ShouldBeNull();
        row.LastFailure.ShouldBeNull();
        var state = fixture.Sandbox<BybitSandboxState>();
        state.Grants[state.RefreshTokens[before.RefreshToken!]].CurrentRefreshToken.ShouldBe((await fixture.CredentialOfAsync(browser.User, "bybit", account)).RefreshToken);
    }
}
