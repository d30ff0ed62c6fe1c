using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Links;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// Several sweeps and many on-demand credential reads and forced refreshes at once, on broker instances sharing
/// storage and vault, against the Bybit sandbox, which rotates refresh tokens and revokes the whole grant when a
/// superseded one comes back. Once with a prompt provider: no grant revoked, every link refreshed. Once with refreshers
/// whose leases run out mid-call (their processes stall while the provider has their requests) while other instances
/// want the same links: no grant revoked; a link whose spend stalled is in doubt (its token never sent again) unless
/// the stalled holder, once it goes on, stores what it got.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ConcurrentRefreshTests(BrokerEnvironmentFixture fixture)
{
    private const int LinkCount = 6;

    [Fact]
    public async Task A_rotating_refresh_token_is_never_spent_twice_across_instances_sweeps_and_reads()
    {
        var linked = new List<(BrowserSession Browser, string Account)>();
        for (var i = 0; i < LinkCount; i++)
        {
            var browser = fixture.NewBrowser();
            await browser.LinkAsync(provider: "bybit");
            linked.Add((browser, (await browser.LinksAsync()).Single().AccountId));
        }

        await using var instances = await Instances.StartAsync(fixture);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();

            async Task CallAsync(Uri instance, HttpMethod method, string user, string account)
            {
                var path = $"api/links/bybit/{account}/{(method == HttpMethod.Get ? "credential" : "refresh")}?userId={user}";
                using var request = new HttpRequestMessage(method, new Uri(instance, path));
                request.Headers.Add("X-Api-Key", fixture.BackendKey);
                using var response = await http.SendAsync(request);
                statuses.Add(response.StatusCode);
            }

            using (instances.MakeDue())
            {
                var work = new List<Task>();
                for (var round = 0; round < 3; round++)
                {
                    work.AddRange(instances.Sweeps.Select(sweep => Task.Run(() => sweep.RunAsync(default))));
                }

                foreach (var (browser, account) in linked)
                {
                    for (var i = 0; i < 8; i++)
                    {
                        var instance = instances.Uris[i % 2];
                        work.Add(Task.Run(() => CallAsync(instance, i % 3 == 0 ? HttpMethod.Post : HttpMethod.Get, browser.User, account)));
                    }
                }

                await Task.WhenAll(work);
            }

            statuses.ShouldAllBe(s => s == HttpStatusCode.OK);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var state = fixture.Sandbox<BybitSandboxState>();
        foreach (var (browser, account) in linked)
        {
            var link = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
            link.Status.ShouldBe(LinkStatus.Active);
            link.LeaseOwner.ShouldBeNull();
            link.SpendInDoubt.ShouldBeFalse("a prompt provider leaves nothing in doubt");
            var credential = await fixture.CredentialOfAsync(browser.User, "bybit", account);
            var grant = state.Grants[state.RefreshTokens[credential.RefreshToken!]];
            grant.Revoked.ShouldBeFalse("a superseded refresh token reached Bybit: the grant was revoked");
            grant.RefreshCount.ShouldBeGreaterThan(0);
            grant.CurrentRefreshToken.ShouldBe(credential.RefreshToken, "the vault holds the grant's live refresh token");
        }

        foreach (var (browser, _) in linked)
        {
            browser.Dispose();
        }
    }

    [Fact]
    public async Task A_rotating_refresh_token_is_never_spent_twice_when_leases_run_out_mid_call()
    {
        var linked = new List<(BrowserSession Browser, string Account, OAuthBroker.Providers.ProviderCredential Before)>();
        for (var i = 0; i < LinkCount; i++)
        {
            var browser = fixture.NewBrowser();
            await browser.LinkAsync(provider: "bybit");
            var account = (await browser.LinksAsync()).Single().AccountId;
            linked.Add((browser, account, await fixture.CredentialOfAsync(browser.User, "bybit", account)));
        }

        // Two broker processes with 10 s leases; the provider rotates at once and answers a second later.
        var arguments = fixture.Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal)).Concat(BrokerInstance.ShortBudget).ToArray();
        await using var first = await HandlerProcess.StartAsync(HandlerProcess.BuiltExecutable, arguments: arguments);
        await using var second = await HandlerProcess.StartAsync(HandlerProcess.BuiltExecutable, arguments: arguments);
        // And an instance three minutes before the access tokens expire, where every link is due and still usable.
        await using var other = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromHours(24) - TimeSpan.FromMinutes(3)), BrokerInstance.ShortBudget);
        var answers = new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(1), Times: 1000) { Phase = FaultPhase.AfterHandler };
        fixture.SandboxFaults.Add(answers);
        var outcomesWhileStalled = new System.Collections.Concurrent.ConcurrentBag<RefreshOutcome>();
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        try
        {
            var calls = new List<Task>();
            foreach (var (browser, account, _) in linked)
            {
                foreach (var process in new[] { first, second })
                {
                    calls.Add(Task.Run(async () =>
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(process.Uri, $"api/links/bybit/{account}/refresh?userId={browser.User}"));
                        request.Headers.Add("X-Api-Key", fixture.BackendKey);
                        using var response = await http.SendAsync(request);
                    }));
                }
            }

            for (var i = 0; i < 500 && answers.Used == 0; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10));
            }

            answers.Used.ShouldBeGreaterThan(0, "the processes' refreshes reached the provider");
            // Both processes stall with their refreshes at the provider, for longer than a lease.
            await first.PauseAsync();
            await second.PauseAsync();
            var stalledUntil = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(14);
            while (DateTimeOffset.UtcNow < stalledUntil)
            {
                var work = new List<Task> { other.Get<RefreshSweep>().RunAsync(default) };
                foreach (var (browser, account, _) in linked)
                {
                    work.Add(Task.Run(async () => outcomesWhileStalled.Add(
                        await other.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default))));
                }

                await Task.WhenAll(work);
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            await first.ResumeAsync();
            await second.ResumeAsync();
            await Task.WhenAll(calls);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        outcomesWhileStalled.ShouldContain(RefreshOutcome.OutcomeUnknown, "a lease ran out mid-call, and another instance left the token it may have rotated alone");
        var state = fixture.Sandbox<BybitSandboxState>();
        foreach (var (browser, account, before) in linked)
        {
            var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
            grant.Revoked.ShouldBeFalse("a superseded refresh token reached Bybit: the grant was revoked");
            var link = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
            link.Status.ShouldBe(LinkStatus.Active);
            var vaulted = (await fixture.Broker<OAuthBroker.Credentials.ICredentialVault>().ReadVersionAsync(link.CredentialName, link.CredentialVersion!, default))!;
            fixture.SeenSecrets.Add(vaulted.Credential.RefreshToken);
            if (link.SpendInDoubt)
            {
                // In doubt: the holder stalled after marking the spend, either with its request at Bybit (the token was
                // rotated, and, the grant living, never sent again) or before the request left (the token is still
                // the grant's; nobody else sent it). Which one, no other instance can know; the grant lives either way
                // (asserted above: a superseded token sent again would have revoked it).
                link.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
            }
            else
            {
                vaulted.Credential.RefreshToken.ShouldBe(grant.CurrentRefreshToken, "the vault holds the grant's live refresh token");
            }
        }

        foreach (var (browser, _, _) in linked)
        {
            browser.Dispose();
        }
    }

    /// <summary>The two instances of the prompt run: the fixture's and a second one.</summary>
    private sealed class Instances : IAsyncDisposable
    {
        private readonly Func<ValueTask> _stop;

        private Instances(Uri[] uris, RefreshSweep[] sweeps, Func<IDisposable> makeDue, Func<ValueTask> stop)
        {
            Uris = uris;
            Sweeps = sweeps;
            MakeDue = makeDue;
            _stop = stop;
        }

        public Uri[] Uris { get; }
        public RefreshSweep[] Sweeps { get; }
        public Func<IDisposable> MakeDue { get; }

        public static async Task<Instances> StartAsync(BrokerEnvironmentFixture fixture)
        {
            var port = FreePort.Next();
            var second = await fixture.Environment.StartBrokerInstanceAsync(port);
            return new Instances([fixture.BrokerUri, new Uri($"http://127.0.0.1:{port}/")],
                [fixture.Broker<RefreshSweep>(), second.Services.GetRequiredService<RefreshSweep>()],
                () => fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(24)),
                async () =>
                {
                    await second.StopAsync();
                    await second.DisposeAsync();
                });
        }

        public ValueTask DisposeAsync() => _stop();
    }
}
