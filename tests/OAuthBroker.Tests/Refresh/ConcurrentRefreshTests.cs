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
/// Several sweeps and many on-demand credential reads and forced refreshes at once, on two broker instances sharing
/// storage and vault, against the Bybit sandbox, which rotates refresh tokens and revokes the whole grant when a
/// superseded one comes back. Once with a prompt provider, once with one slower than the lease (it processes every
/// refresh at once and answers after the lease has run out). Afterwards: no grant revoked, no link lost.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ConcurrentRefreshTests(BrokerEnvironmentFixture fixture)
{
    private const int LinkCount = 6;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_rotating_refresh_token_is_never_spent_twice_across_instances_sweeps_and_reads(bool providerSlowerThanTheLease)
    {
        var linked = new List<(BrowserSession Browser, string Account)>();
        for (var i = 0; i < LinkCount; i++)
        {
            var browser = fixture.NewBrowser();
            await browser.LinkAsync(provider: "bybit");
            linked.Add((browser, (await browser.LinksAsync()).Single().AccountId));
        }

        await using var instances = await Instances.StartAsync(fixture, providerSlowerThanTheLease);
        var slow = new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(12), Times: 200) { Phase = FaultPhase.AfterHandler };
        if (providerSlowerThanTheLease)
        {
            fixture.SandboxFaults.Add(slow);
        }

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
        var inDoubt = 0;
        foreach (var (browser, account) in linked)
        {
            var link = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
            link.Status.ShouldBe(LinkStatus.Active);
            link.LeaseOwner.ShouldBeNull();
            var credential = await fixture.CredentialOfAsync(browser.User, "bybit", account);
            var grant = state.Grants[state.RefreshTokens[credential.RefreshToken!]];
            grant.Revoked.ShouldBeFalse("a superseded refresh token reached Bybit: the grant was revoked");
            grant.RefreshCount.ShouldBeGreaterThan(0);
            if (link.SpendInDoubt)
            {
                // The answer came after the lease: the token may be rotated, so it was sent once and never again.
                inDoubt++;
                grant.RefreshCount.ShouldBe(1);
                link.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
            }
            else
            {
                grant.CurrentRefreshToken.ShouldBe(credential.RefreshToken, "the vault holds the grant's live refresh token");
            }
        }

        if (providerSlowerThanTheLease)
        {
            inDoubt.ShouldBe(LinkCount, "every refresh outlived its lease");
        }

        foreach (var (browser, _) in linked)
        {
            browser.Dispose();
        }
    }

    /// <summary>The two instances of one run: the fixture's and a second one, or two with short leases for a slow provider.</summary>
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

        public static async Task<Instances> StartAsync(BrokerEnvironmentFixture fixture, bool slow)
        {
            if (!slow)
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

            // Bybit's access tokens last 24 h: three minutes before that every link is due, and its token still valid.
            var ahead = TimeSpan.FromHours(24) - TimeSpan.FromMinutes(3);
            var first = await BrokerInstance.StartAsync(fixture, new ManualClock(ahead), BrokerInstance.ShortBudget);
            var other = await BrokerInstance.StartAsync(fixture, new ManualClock(ahead), BrokerInstance.ShortBudget);
            return new Instances([first.Uri, other.Uri], [first.Get<RefreshSweep>(), other.Get<RefreshSweep>()],
                () => new Nothing(),
                async () =>
                {
                    await first.DisposeAsync();
                    await other.DisposeAsync();
                });
        }

        public ValueTask DisposeAsync() => _stop();

        private sealed class Nothing : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
