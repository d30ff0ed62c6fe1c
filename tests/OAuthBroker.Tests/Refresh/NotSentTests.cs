using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OAuthBroker.Links;
using OAuthBroker.Providers.Http;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// A refresh that failed before its request could reach the provider spent nothing, whatever failed: the discovery
/// document could not be fetched, the connection was refused, never answered, or failed its TLS handshake. The link is
/// retried after the backoff, never recorded as a possible spend (which would end it in reauth_required).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class NotSentTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task A_discovery_document_that_cannot_be_fetched_spends_nothing_and_the_link_is_retried()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "acme");
        var account = (await browser.LinksAsync()).Single().AccountId;
        // A fresh instance has no cached metadata: its refresh starts with discovery, which a CDN answers 502.
        await using var instance = await BrokerInstance.StartAsync(fixture, null, BrokerInstance.ShortBudget);
        var tokenCalls = new Fault("/oidc/alpha/token", 0, Times: 1000);
        fixture.SandboxFaults.Add(new Fault("/oidc/alpha/.well-known", 502, "bad gateway", Times: 10));
        fixture.SandboxFaults.Add(new Fault("/.well-known/oauth-authorization-server", 502, "bad gateway", Times: 10));
        fixture.SandboxFaults.Add(tokenCalls);
        try
        {
            (await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "acme", account, LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.Retrying, "the refresh token never left: nothing is in doubt");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        tokenCalls.Used.ShouldBe(0);
        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "acme", account, default))!;
        row.SpendingVersion.ShouldBeNull();
        row.Status.ShouldBe(LinkStatus.Active);
        row.RefreshFailures.ShouldBe(1);
        row.LastFailure.ShouldNotBe(LinkRefresher.OutcomeUnknownCode);
    }

    private static readonly string[] Failures = ["a connection attempt nobody answers", "a refused connection", "a failed TLS handshake"];

    public static TheoryData<string> Unreachable => [.. Failures];

    [Theory]
    [MemberData(nameof(Unreachable))]
    public async Task A_token_endpoint_that_cannot_be_connected_to_spends_nothing_and_the_link_is_retried(string failure)
    {
        using var browser = fixture.NewBrowser();
        var account = (929292000 + Array.IndexOf(Failures, failure)).ToString(CultureInfo.InvariantCulture);
        await browser.LinkAsync(uid: long.Parse(account, CultureInfo.InvariantCulture));
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", account);
        using var unanswered = await UnansweredPort.OpenAsync();
        var baseUrl = failure switch
        {
            "a connection attempt nobody answers" => $"http://127.0.0.1:{unanswered.Port}/bybit",
            "a refused connection" => $"http://127.0.0.1:{ClosedPort()}/bybit",
            // The sandbox speaks plain HTTP: a TLS client hello gets no handshake.
            _ => $"https://127.0.0.1:{fixture.Environment.SandboxUri.Port}/bybit",
        };
        await using var instance = await BrokerInstance.StartAsync(fixture, null, [.. BrokerInstance.ShortBudget, $"--Providers:bybit:ApiBaseUrl={baseUrl}"]);

        (await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default))
            .ShouldBe(RefreshOutcome.Retrying, failure);

        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
        row.SpendingVersion.ShouldBeNull("nothing is in doubt");
        row.LastFailure.ShouldBeOneOf(ProviderHttpClient.NotSentCode, ProviderHttpClient.ConnectTimeoutCode);
        row.Status.ShouldBe(LinkStatus.Active);
        var state = fixture.Sandbox<BybitSandboxState>();
        state.Grants[state.RefreshTokens[before.RefreshToken!]].RefreshCount.ShouldBe(0);

        // The provider reachable again: the same token is spent, once.
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(3)))
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        }

        state.Grants[state.RefreshTokens[before.RefreshToken!]].Revoked.ShouldBeFalse();
    }

    [Fact]
    public void The_connect_timeout_is_shorter_than_a_refresh_call()
    {
        var options = new RefreshOptions { RefreshCallTimeout = TimeSpan.FromSeconds(30) };
        options.ConnectTimeout.ShouldBe(TimeSpan.FromSeconds(10));
        new RefreshOptions { RefreshCallTimeout = TimeSpan.FromSeconds(2) }.ConnectTimeout.ShouldBe(TimeSpan.FromSeconds(1));
    }

    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
