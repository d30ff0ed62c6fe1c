using System.Net;
using System.Net.Sockets;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The edge under the host, on Flex Consumption: preflights answered by the platform's CORS (from the same origins infra
/// gives it), and the rate limit keyed on the address the front end writes, not on anything the client sends.
/// </summary>
[Collection(HostedBrokerEnvironmentGroup.Name)]
public sealed class PlatformEdgeTests(HostedBrokerEnvironmentFixture fixture)
{
    private async Task<HttpResponseMessage> PreflightAsync(string origin, string path)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri(fixture.BrokerUri, path));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization");
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Preflights_are_answered_by_the_platform_for_the_configured_origins_with_credentials()
    {
        var before = fixture.Host.Invocations.Count;
        using var allowed = await PreflightAsync("http://localhost:5173", "api/oauth/bybit/start");
        allowed.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        allowed.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe("http://localhost:5173");
        allowed.Headers.GetValues("Access-Control-Allow-Credentials").Single().ShouldBe("true");
        allowed.Headers.GetValues("Access-Control-Allow-Headers").Single().ShouldBe("authorization");

        using var evil = await PreflightAsync("https://evil.example", "api/oauth/bybit/start");
        evil.StatusCode.ShouldBe(HttpStatusCode.NoContent, "the platform answers every preflight itself");
        evil.Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse();

        // The platform's one policy covers every route: a backend route is no exception there (docs/security.md).
        using var backend = await PreflightAsync("http://localhost:5173", "api/links/bybit/1/credential");
        backend.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe("http://localhost:5173");

        fixture.Host.Invocations.Count.ShouldBe(before, "no preflight reaches the app");
    }

    [Fact]
    public async Task A_spoofed_forwarded_for_neither_escapes_the_rate_limit_nor_uses_up_someone_elses()
    {
        await using var host = await HostedHandler.StartAsync(fixture, "Edge", new Dictionary<string, string> { ["Broker__AnonymousRequestsPerMinute"] = "5" });
        using var attacker = From(IPAddress.Parse("127.0.0.2"));
        using var victim = From(IPAddress.Parse("127.0.0.3"));
        for (var i = 0; i < 5; i++)
        {
            // A fresh forged address each time, and the victim's address in every header the client can write.
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Uri, "api/providers"));
            request.Headers.Add("X-Forwarded-For", $"198.51.100.{i}, 127.0.0.3");
            request.Headers.Add("Client-IP", "127.0.0.3:4242");
            request.Headers.Add("X-Client-IP", "127.0.0.3");
            (await attacker.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using var sixth = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Uri, "api/providers"));
        sixth.Headers.Add("X-Forwarded-For", "203.0.113.99");
        using var refused = await attacker.SendAsync(sixth);
        refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests, "the forged X-Forwarded-For bought no fresh bucket");

        using var own = await victim.GetAsync(new Uri(host.Uri, "api/providers"));
        own.StatusCode.ShouldBe(HttpStatusCode.OK, "the victim's own bucket is untouched");
    }

    /// <summary>A client on its own loopback address (127.0.0.0/8 is all loopback on Linux).</summary>
    private static HttpClient From(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });
}
