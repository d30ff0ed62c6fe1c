using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Events;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// The run that is the last able to renew a pending WhiteBIT pair (600 s refresh token, five-minute timer) and cannot:
/// the flow ends in that run, while its access token can still remove the key it created, instead of at the next run
/// with nothing left to act with. (The in-run retry after a 1 s Retry-After: WhiteBitPendingLastChanceTests.)
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingRenewalRetryTests(BrokerEnvironmentFixture fixture) : WhiteBitPendingKeyScenario(fixture)
{
    [Fact]
    public async Task A_renewal_refused_past_the_runs_retry_window_ends_the_pending_link_in_that_run_and_deletes_the_flows_key()
    {
        using var reading = ShortLivedTokensAndAKeyOnCue();
        using var browser = Fixture.NewBrowser();
        const string account = "719101";
        await PendingKeyAsync(browser, account);

        // First look 10 s after the callback: no key yet, nothing renewed (590 s left > the next run's 550 s).
        await RunAtAsync(TimeSpan.FromSeconds(10));
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.PendingKey);
        Keys.FinishKeyCreation(account, Fixture.SandboxClock.GetUtcNow()).ShouldBe(1);

        // 250 s after the exchange the refresh token has 350 s left: this run must renew. WhiteBIT refuses with a
        // Retry-After (RFC 9110 §10.2.3) longer than what is left of this run before the next one starts (gap 5 min less
        // the 4 min sweep budget): honoured, so not sent again in this run.
        var limited = new Fault("/whitebit/oauth2/refresh_token", 429, """{"message":"Too many requests"}""", "application/json", Times: 10)
        {
            Headers = { ["Retry-After"] = "90" },
        };
        Fixture.SandboxFaults.Add(limited);
        await RunAtAsync(TimeSpan.FromSeconds(240));

        limited.Used.ShouldBe(1, "the Retry-After is honoured");
        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired, "the next run would find the refresh token expired: the flow ends now");
        failed.LastFailure.ShouldBe(PendingKeyContinuation.RenewalFailedCode);
        // WhiteBIT shows the key the user finished creating at its next api-key/info (the abandon's).
        var flowsKey = Keys.KeysById.Values.Where(k => k.Account == account).ShouldHaveSingleItem();
        flowsKey.Deleted.ShouldBeTrue("the access token still lived: the key the flow created is deleted, not left");
        var keyFailed = (await EventLogReading.OfUserAsync(Fixture.Broker<IEventLog>(), browser.User)).ShouldHaveSingleItem();
        keyFailed.Type.ShouldBe(LinkEventTypes.WhiteBitKeyFailed);
        keyFailed.Reason.ShouldBe(PendingKeyContinuation.RenewalFailedCode);
    }
}
