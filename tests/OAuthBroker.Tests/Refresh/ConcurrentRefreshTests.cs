using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Links;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// Several sweeps and many on-demand credential reads and forced refreshes at once, on two broker instances sharing
/// storage and vault, against the Bybit sandbox, which rotates refresh tokens and revokes the whole grant when a
/// superseded one comes back. Afterwards: no grant revoked, no link lost, the vault holds each grant's live token.
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

        var secondPort = FreePort.Next();
        var second = await fixture.Environment.StartBrokerInstanceAsync(secondPort);
        try
        {
            var instances = new[] { fixture.BrokerUri, new Uri($"http://127.0.0.1:{secondPort}/") };
            var sweeps = new[] { fixture.Broker<RefreshSweep>(), second.Services.GetRequiredService<RefreshSweep>() };
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

            using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(24)))
            {
                var work = new List<Task>();
                for (var round = 0; round < 3; round++)
                {
                    work.AddRange(sweeps.Select(sweep => Task.Run(() => sweep.RunAsync(default))));
                }

                foreach (var (browser, account) in linked)
                {
                    for (var i = 0; i < 8; i++)
                    {
                        var instance = instances[i % 2];
                        work.Add(Task.Run(() => CallAsync(instance, i % 3 == 0 ? HttpMethod.Post : HttpMethod.Get, browser.User, account)));
                    }
                }

                await Task.WhenAll(work);
            }

            statuses.ShouldAllBe(s => s == HttpStatusCode.OK);
            var state = fixture.Sandbox<BybitSandboxState>();
            foreach (var (browser, account) in linked)
            {
                var link = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
                link.Status.ShouldBe(LinkStatus.Active);
                link.LeaseOwner.ShouldBeNull();
                var credential = await fixture.CredentialOfAsync(browser.User, "bybit", account);
                var grant = state.Grants[state.RefreshTokens[credential.RefreshToken!]];
                grant.Revoked.ShouldBeFalse("a superseded refresh token reached Bybit: the grant was revoked");
                grant.CurrentRefreshToken.ShouldBe(credential.RefreshToken, "the vault holds the grant's live refresh token");
                grant.RefreshCount.ShouldBeGreaterThan(0);
            }
        }
        finally
        {
            await second.StopAsync();
            await second.DisposeAsync();
            foreach (var (browser, _) in linked)
            {
                browser.Dispose();
            }
        }
    }
}
