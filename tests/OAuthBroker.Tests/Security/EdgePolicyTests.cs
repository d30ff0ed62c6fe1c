using System.Net;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>CORS only for configured frontends; a rate limit on what anyone can call.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class EdgePolicyTests(BrokerEnvironmentFixture fixture)
{
    private async Task<HttpResponseMessage> PreflightAsync(string origin, string path)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri(fixture.BrokerUri, path));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "authorization");
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task A_configured_frontend_origin_may_call_with_credentials_and_no_other_origin_may()
    {
        using var allowed = await PreflightAsync("http://localhost:5173", "api/links");
        allowed.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe("http://localhost:5173");
        allowed.Headers.GetValues("Access-Control-Allow-Credentials").Single().ShouldBe("true");

        using var evil = await PreflightAsync("https://evil.example", "api/links");
        evil.Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse();

        // Backend endpoints are server to server: no CORS at all.
        using var backend = await PreflightAsync("http://localhost:5173", "api/links/bybit/1/credential");
        backend.Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse();
    }

    [Fact]
    public async Task The_anonymous_endpoints_are_rate_limited_per_client_with_a_problem_answer()
    {
        var port = FreePort.Next();
        var limited = await fixture.Environment.StartBrokerInstanceAsync(port, "--Broker:AnonymousRequestsPerMinute=5");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            for (var i = 0; i < 5; i++)
            {
                (await http.GetAsync("/api/providers")).StatusCode.ShouldBe(HttpStatusCode.OK);
            }

            using var refused = await http.GetAsync("/api/providers");
            refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
            ShouldCarryTheBrokersHeaders(refused);
            refused.Headers.RetryAfter.ShouldNotBeNull();
            refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await refused.Content.ReadAsStringAsync()).ShouldContain("rate_limited");
            (await http.GetAsync("/api/health")).StatusCode.ShouldBe(HttpStatusCode.OK, "liveness is not limited");
        }
        finally
        {
            await limited.StopAsync();
            await limited.DisposeAsync();
        }
    }

    [Fact]
    public async Task Every_response_carries_no_store_and_nosniff_and_CORS_answers_vary_by_origin()
    {
        using var http = new HttpClient { BaseAddress = fixture.BrokerUri };
        using var health = await http.GetAsync("api/health");
        using var providers = await http.GetAsync("api/providers");
        using var missing = await http.GetAsync("api/no-such-route");
        using var wrongMethod = await http.PostAsync("api/health", null);
        health.StatusCode.ShouldBe(HttpStatusCode.OK);
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        wrongMethod.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        foreach (var response in new[] { health, providers, missing, wrongMethod })
        {
            ShouldCarryTheBrokersHeaders(response);
        }

        // A CORS answer depends on the Origin header: caches must key on it.
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/providers");
        request.Headers.Add("Origin", "http://localhost:5173");
        using var cors = await http.SendAsync(request);
        cors.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe("http://localhost:5173");
        cors.Headers.Vary.ShouldContain("Origin");
        using var preflight = await PreflightAsync("http://localhost:5173", "api/links");
        preflight.Headers.Vary.ShouldContain("Origin");
    }

    private static void ShouldCarryTheBrokersHeaders(HttpResponseMessage response)
    {
        response.Headers.CacheControl!.NoStore.ShouldBeTrue($"{(int)response.StatusCode} {response.RequestMessage!.RequestUri}");
        response.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
    }
}
