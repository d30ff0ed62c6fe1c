using System.Net;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Faults;

/// <summary>
/// A broker process killed in the middle of a callback or a refresh (while the provider call is in flight) leaves no
/// half-written link, never lets the token it may have spent be sent again, and every link's state stays truthful.
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
            // As real servers do: the provider redeems the code at once; its answer would come after the kill, to a dead
            // process.
            var exchange = new Fault("/bybit/oauth/v1/public/access_token", 0, Delay: TimeSpan.FromSeconds(30)) { Phase = FaultPhase.AfterHandler };
            fixture.SandboxFaults.Add(exchange);

            var inFlight = browser.GetAsync(toDoomed);
            // Killed once the provider has processed the code exchange (the state is marked used before it), while its
            // answer is held back: no kill racing a timer.
            await exchange.Processed.WaitAsync(TimeSpan.FromSeconds(60));
            await process.KillAsync();
            await ConnectionBrokeAsync(inFlight);

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
    public async Task Killed_mid_refresh_after_the_provider_rotated_nobody_sends_the_old_token_again()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 717171717);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "717171717");
        // The doomed process must not give up on the provider by itself before it is killed (it would then record the
        // outcome and release the lease, and nothing would be left mid-spend): its call timeout (20 s) is far longer than
        // the moment between the provider finishing and the kill, however loaded the machine. Its lease fits that budget
        // (pacing 1 s + 2 × 20 s + vault write 2 s + clock 2 s), so start-up accepts it.
        await using var process = await StartBrokerProcessAsync([.. BrokerInstance.ShortBudget,
            "--Refresh:RefreshCallTimeout=00:00:20", "--Refresh:LeaseDuration=00:00:50"]);
        var uri = process.Uri;
        try
        {
            // As real servers do: the provider rotates the token at once; its answer would come after the call timeout,
            // to a dead process.
            var refresh = new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(30)) { Phase = FaultPhase.AfterHandler };
            fixture.SandboxFaults.Add(refresh);
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(uri, $"api/links/bybit/717171717/refresh?userId={browser.User}"));
            request.Headers.Add("X-Api-Key", fixture.BackendKey);
            var inFlight = http.SendAsync(request);
            // Killed once the provider has processed the request (and rotated), while its answer is held back.
            await refresh.Processed.WaitAsync(TimeSpan.FromSeconds(60));
            await process.KillAsync();
            await ConnectionBrokeAsync(inFlight);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var orphaned = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "717171717", default))!;
        orphaned.LeaseOwner.ShouldNotBeNull("the killed instance held the lease");
        orphaned.SpendingVersion.ShouldNotBeNull("and had recorded which token it was spending");
        orphaned.Status.ShouldBe(LinkStatus.Active);

        // Once its lease has lapsed (on the storage service's clock), another instance looks at the link.
        var outcome = RefreshOutcome.Busy;
        for (var i = 0; i < 200 && outcome == RefreshOutcome.Busy; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            outcome = await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "717171717", LinkRefresher.Mode.Force, default);
        }

        outcome.ShouldBe(RefreshOutcome.OutcomeUnknown, "the vault still holds the token that was sent: it may be rotated");
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
        grant.RefreshCount.ShouldBe(1);
        grant.Revoked.ShouldBeFalse("the superseded token was not sent again");
        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "717171717", default))!;
        row.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
        row.LeaseOwner.ShouldBeNull();
    }

    /// <summary>
    /// The request to the killed process fails as a broken connection. SocketsHttpHandler reports that as an
    /// <see cref="HttpRequestException"/> while sending, but a reset that lands while the answer is awaited can surface
    /// as the bare <see cref="System.Net.Sockets.SocketException"/> or an <see cref="IOException"/> (seen under load).
    /// </summary>
    private static async Task ConnectionBrokeAsync(Task inFlight)
    {
        var failure = await Should.ThrowAsync<Exception>(() => inFlight);
        (failure is HttpRequestException or IOException or System.Net.Sockets.SocketException).ShouldBeTrue(
            $"the connection to the killed process broke, not {failure.GetType().Name}");
    }
}
