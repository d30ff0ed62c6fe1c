using System.Net;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Faults;

/// <summary>
/// A broker process killed in the middle of a callback or a refresh (while the provider call is in flight) loses
/// nothing: no half-written link, no spent refresh token, and every link's state stays truthful.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ProcessKillTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>Another broker instance as its own process, on the shared storage, vault and sandbox.</summary>
    private Task<HandlerProcess> StartBrokerProcessAsync(params string[] extra) =>
        HandlerProcess.StartAsync(HandlerProcess.BuiltExecutable,
            arguments: fixture.Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal)).Concat(extra));

    [Fact]
    public async Task Killed_mid_callback_the_flow_leaves_no_link_and_cannot_be_replayed()
    {
        // Two instances sharing a sealing key, as every instance of a deployment does: the flow travels sealed in the
        // browser's cookie, so whichever instance the callback reaches must open it.
        var sharedKey = "--Sealing:Keys:k1=" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var process = await StartBrokerProcessAsync(sharedKey);
        await using var survivor = await StartBrokerProcessAsync(sharedKey);
        var uri = process.Uri;
        using var browser = fixture.NewBrowser();
        try
        {
            // Start and consent in the same browser as usual; the callback goes to the doomed process.
            using var authorize = await browser.GetRawAsync(new Uri(uri, "api/oauth/bybit/authorize?returnUrl=%2Fdemo%2Fcallback.html"));
            fixture.SeenSecrets.Add(System.Web.HttpUtility.ParseQueryString(authorize.Headers.Location!.Query)["state"]);
            var callback = await browser.ConsentAsync(authorize.Headers.Location!);
            var toDoomed = new Uri(uri, callback.PathAndQuery);
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/access_token", 0, Delay: TimeSpan.FromSeconds(5)));

            var inFlight = browser.GetAsync(toDoomed);
            await Task.Delay(TimeSpan.FromSeconds(1));
            await process.KillAsync();
            await Should.ThrowAsync<HttpRequestException>(() => inFlight);

            (await browser.LinksAsync()).ShouldBeEmpty();
            using var replay = await browser.GetAsync(new Uri(survivor.Uri, callback.PathAndQuery));
            replay.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "the state was marked used before the exchange: the user starts again");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }
    }

    [Fact]
    public async Task Killed_mid_refresh_the_lease_lapses_and_another_instance_refreshes_with_the_unspent_token()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 717171717);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "717171717");
        await using var process = await StartBrokerProcessAsync("--Refresh:LeaseDuration=00:00:10");
        var uri = process.Uri;
        try
        {
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(5)));
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(uri, $"api/links/bybit/717171717/refresh?userId={browser.User}"));
            request.Headers.Add("X-Api-Key", fixture.BackendKey);
            var inFlight = http.SendAsync(request);
            await Task.Delay(TimeSpan.FromSeconds(1));
            await process.KillAsync();
            await Should.ThrowAsync<HttpRequestException>(() => inFlight);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var orphaned = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "717171717", default))!;
        orphaned.LeaseOwner.ShouldNotBeNull("the killed instance held the lease");
        orphaned.Status.ShouldBe(LinkStatus.Active);

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromSeconds(15)))
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "717171717", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        }

        var after = await fixture.CredentialOfAsync(browser.User, "bybit", "717171717");
        after.RefreshToken.ShouldNotBe(before.RefreshToken);
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[after.RefreshToken!]];
        grant.Revoked.ShouldBeFalse();
        grant.CurrentRefreshToken.ShouldBe(after.RefreshToken);
    }
}
