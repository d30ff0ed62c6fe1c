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

    /// <summary>
    /// A configured client-address header the front end does not write: before, every such request shared one
    /// "unidentified" bucket, so one client could use up everyone's allowance (callbacks included). Now each is refused
    /// with a problem answer, and the operator is told once.
    /// </summary>
    [Fact]
    public async Task Without_the_configured_client_address_header_requests_are_refused_not_pooled()
    {
        var port = FreePort.Next();
        var instance = await fixture.Environment.StartBrokerInstanceAsync(port, "--Broker:AnonymousRequestsPerMinute=3", "--RateLimit:ClientAddressHeader=Client-IP");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            for (var i = 0; i < 4; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/api/providers");
                request.Headers.Add("Client-IP", "203.0.113.7:50123");
                using var identified = await http.SendAsync(request);
                identified.StatusCode.ShouldBe(i < 3 ? HttpStatusCode.OK : HttpStatusCode.TooManyRequests);
            }

            using var other = new HttpRequestMessage(HttpMethod.Get, "/api/providers");
            other.Headers.Add("Client-IP", "198.51.100.9:40000");
            (await http.SendAsync(other)).StatusCode.ShouldBe(HttpStatusCode.OK, "another client has its own allowance");

            for (var i = 0; i < 2; i++)
            {
                using var anonymous = await http.GetAsync("/api/providers");
                anonymous.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
                ShouldCarryTheBrokersHeaders(anonymous);
                anonymous.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
                (await anonymous.Content.ReadAsStringAsync()).ShouldContain("client_address_unavailable");
            }

            fixture.Logs.Lines.Count(l => l.Contains("without a readable client address in Client-IP", StringComparison.Ordinal)).ShouldBe(1, "logged once");
        }
        finally
        {
            await instance.StopAsync();
            await instance.DisposeAsync();
        }
    }

    [Fact]
    public async Task Behind_Front_Door_X_Azure_ClientIP_needs_the_profiles_id_and_the_app_refuses_to_start_without_one()
    {
        var port = FreePort.Next();
        var failure = await Should.ThrowAsync<Exception>(() => fixture.Environment.StartBrokerInstanceAsync(port, "--RateLimit:ClientAddressHeader=X-Azure-ClientIP"));
        failure.ToString().ShouldContain("RateLimit:FrontDoorId");

        // The id alone would keep reading the platform's Client-IP, which behind Front Door is Front Door's own address.
        const string profile = "0b1ddead-2f6e-4c1e-9b8a-5d3c2a1f0e9d";
        var idOnly = await Should.ThrowAsync<Exception>(() => fixture.Environment.StartBrokerInstanceAsync(FreePort.Next(), "--RateLimit:FrontDoorId=" + profile));
        idOnly.ToString().ShouldContain("RateLimit:ClientAddressHeader");

        port = FreePort.Next();
        var instance = await fixture.Environment.StartBrokerInstanceAsync(port, "--RateLimit:ClientAddressHeader=X-Azure-ClientIP", "--RateLimit:FrontDoorId=" + profile);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            async Task<HttpResponseMessage> SendAsync(string? frontDoorId)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/api/providers");
                request.Headers.Add("X-Azure-ClientIP", "203.0.113.7");
                if (frontDoorId is not null)
                {
                    request.Headers.Add("X-Azure-FDID", frontDoorId);
                }

                return await http.SendAsync(request);
            }

            using var through = await SendAsync(profile);
            through.StatusCode.ShouldBe(HttpStatusCode.OK);
            using var direct = await SendAsync(null);
            direct.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await direct.Content.ReadAsStringAsync()).ShouldContain("not_through_front_door");
            using var otherProfile = await SendAsync("11111111-2f6e-4c1e-9b8a-5d3c2a1f0e9d");
            otherProfile.StatusCode.ShouldBe(HttpStatusCode.Forbidden, "another Front Door profile is anyone's");
        }
        finally
        {
            await instance.StopAsync();
            await instance.DisposeAsync();
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
