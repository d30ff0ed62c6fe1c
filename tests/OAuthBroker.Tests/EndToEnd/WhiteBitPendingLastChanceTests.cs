using OAuthBroker.Links;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// The last run able to renew a pending pair at the five-minute timer: a refused renewal is retried within that run, and
/// a Retry-After never pushes the link's next look past it (renew-ahead assumes the next run looks at the link; without
/// the cap, a Retry-After longer than the gap to the next run skipped that run and the refresh token died before the one
/// after).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingLastChanceTests(BrokerEnvironmentFixture fixture) : WhiteBitPendingKeyScenario(fixture)
{
    private static readonly TimeSpan TimerInterval = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_429_with_a_Retry_After_past_the_next_run_does_not_let_the_pending_refresh_token_die()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        const string account = "719001";
        await PendingKeyAsync(browser, account);
        // WhiteBIT rate-limits the first look of the sweep and asks for 330 s (RFC 9110 §10.2.3).
        var limited = new Fault("/whitebit/oauth2/api-key/info", 429, """{"message":"Too many requests"}""", "application/json")
        {
            Headers = { ["Retry-After"] = "330" },
        };
        Fixture.SandboxFaults.Add(limited);

        // First tick 10 s after the callback: the refresh token has 590 s left (> 550 s), so it is not renewed.
        await RunAtAsync(TimeSpan.FromSeconds(10));
        limited.Used.ShouldBe(1);
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.PendingKey);

        // Next tick: the link is not due yet (Retry-After), so nothing renews it.
        await RunAtAsync(TimerInterval);
        Keys.FinishKeyCreation(account, Fixture.SandboxClock.GetUtcNow()).ShouldBe(1);

        // The tick after: 610 s after the exchange, past the 600 s refresh token.
        await RunAtAsync(TimerInterval);

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.LastFailure.ShouldBeNull();
        link.Status.ShouldBe(LinkStatus.Active, "the renew-ahead must not depend on the link being due at the next run");
    }

    [Fact]
    public async Task One_429_on_the_renewal_of_the_only_run_that_can_renew_does_not_let_the_pending_refresh_token_die()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        const string account = "719002";
        await PendingKeyAsync(browser, account);

        // First tick 10 s after the callback: not renewed (590 s left > 550 s).
        await RunAtAsync(TimeSpan.FromSeconds(10));
        // Next tick: the run renews (the refresh token would be dead by the tick after), and WhiteBIT answers that one
        // request with its documented rate limit ("Rate limit: 1 request per second"; another instance's refresh took the slot).
        var limited = new Fault("/whitebit/oauth2/refresh_token", 429, """{"message":"Too many requests"}""", "application/json")
        {
            Headers = { ["Retry-After"] = "1" },
        };
        Fixture.SandboxFaults.Add(limited);
        await RunAtAsync(TimerInterval);
        limited.Used.ShouldBe(1);
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.PendingKey);
        Keys.FinishKeyCreation(account, Fixture.SandboxClock.GetUtcNow()).ShouldBe(1);

        await RunAtAsync(TimerInterval);

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.LastFailure.ShouldBeNull();
        link.Status.ShouldBe(LinkStatus.Active, "one transient refusal of a renewal must not cost the pending link its refresh token");
    }
}
