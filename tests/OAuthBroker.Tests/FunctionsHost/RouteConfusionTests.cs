using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The host matches function routes on the decoded path and forwards <c>new Uri(decoded URL).AbsolutePath</c>: with a
/// loose <c>{provider}</c>, <c>..%5C</c> walks out of an anonymous function's route and a decoded <c>%3F</c> or <c>%23</c>
/// cuts the rest off, so the handler receives a backend route (security review F1; the emulator's
/// <see cref="Emulation.RequestForwarder"/> reproduces it). Every variant must end in a 4xx without a credential.
/// </summary>
[Collection(HostedBrokerEnvironmentGroup.Name)]
public sealed class RouteConfusionTests(HostedBrokerEnvironmentFixture fixture)
{
    public static TheoryData<string, string> Attacks => new()
    {
        // Callback (anonymous GET) → GET /api/links/bybit/{uid}/credential?userId=…
        { "GET", "api/oauth/..%5Clinks%5Cbybit%5C{uid}%5Ccredential%3F/callback?userId={user}" },
        { "GET", "api/oauth/..%5Clinks%5Cbybit%5C{uid}%5Ccredential%23/callback?userId={user}" },
        { "GET", "api/oauth/..\\links\\bybit\\{uid}\\credential%3F/callback?userId={user}" },
        // Authorize (anonymous GET), same target.
        { "GET", "api/oauth/..%5Clinks%5Cbybit%5C{uid}%5Ccredential%3F/authorize?userId={user}" },
        // Start (anonymous POST) → POST /api/links/bybit/{uid}/refresh?userId=…
        { "POST", "api/oauth/..%5Clinks%5Cbybit%5C{uid}%5Crefresh%3F/start?userId={user}" },
        // Start → POST /RefreshTokens, the timer's route: a sweep on demand.
        { "POST", "api/oauth/..%5C..%5CRefreshTokens%3F/start" },
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task A_path_that_walks_out_of_an_anonymous_route_never_reaches_another_route(string method, string attack)
    {
        using var victim = fixture.NewBrowser();
        const long uid = 424242777;
        await victim.LinkAsync(uid);
        (await victim.LinksAsync()).ShouldHaveSingleItem();
        var before = fixture.Host.Invocations.Count;

        // As sent on the wire: no client-side URL canonicalization (a literal backslash stays one).
        var raw = fixture.BrokerUri.AbsoluteUri + attack.Replace("{uid}", uid.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{user}", victim.User, StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(raw, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        ((int)response.StatusCode).ShouldBeInRange(400, 499, body);
        body.ShouldNotContain("accessToken");
        body.ShouldNotContain("apiSecret");
        fixture.Host.Invocations.Skip(before).ShouldAllBe(i => !i.ForwardedUri.Contains("/credential", StringComparison.Ordinal)
            && !i.ForwardedUri.Contains("/refresh", StringComparison.Ordinal) && !i.ForwardedUri.Contains("RefreshTokens", StringComparison.Ordinal));
    }

    /// <summary>
    /// The path rewritten through the scheme or the host: on Linux hosting the host's <c>AppServiceHeaderFixupMiddleware</c>
    /// takes them from <c>X-Forwarded-Proto</c> and <c>DISGUISED-HOST</c> unchecked, and the forwarded path is
    /// <c>new Uri(scheme + "://" + host + path).AbsolutePath</c> (host review defect 1; <see cref="Emulation.AppServiceHeaderFixup"/>).
    /// The request matches an anonymous function whose route is well constrained; the attack body is shaped like the
    /// timer's payload. Run with the front end passing a client's headers through and overwriting them.
    /// </summary>
    public static TheoryData<string, string, string, string, Emulation.ClientForwardingHeaders> HeaderAttacks()
    {
        var data = new TheoryData<string, string, string, string, Emulation.ClientForwardingHeaders>();
        foreach (var reading in Enum.GetValues<Emulation.ClientForwardingHeaders>())
        {
            // Start (anonymous POST) → POST /RefreshTokens: the sweep and housekeeping on demand, and their report.
            data.Add("POST", "api/oauth/bybit/start", "X-Forwarded-Proto", "http://x/RefreshTokens#", reading);
            data.Add("POST", "api/oauth/bybit/start", "X-Forwarded-Proto", "http://x/RefreshTokens?", reading);
            data.Add("POST", "api/oauth/bybit/start", "DISGUISED-HOST", "x/RefreshTokens?", reading);
            // Callback (anonymous GET) → the credential route; Start → the backend refresh route.
            data.Add("GET", "api/oauth/bybit/callback", "X-Forwarded-Proto", "http://x/api/links/bybit/{uid}/credential?userId={user}#", reading);
            data.Add("POST", "api/oauth/bybit/start", "X-Forwarded-Proto", "http://x/api/links/bybit/{uid}/refresh?userId={user}#", reading);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HeaderAttacks))]
    public async Task A_path_rewritten_through_the_forwarded_scheme_or_host_never_runs_another_route(
        string method, string path, string header, string value, Emulation.ClientForwardingHeaders reading)
    {
        using var victim = fixture.NewBrowser();
        const long uid = 424242778;
        await victim.LinkAsync(uid);
        var before = fixture.Host.Invocations.Count;
        var previous = fixture.Host.FrontEnd.ForwardingHeaders;
        fixture.Host.FrontEnd.ForwardingHeaders = reading;
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(fixture.BrokerUri, path));
            request.Headers.TryAddWithoutValidation(header, value.Replace("{uid}", uid.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{user}", victim.User, StringComparison.Ordinal));
            if (method == "POST")
            {
                // What a timer invocation's payload looks like, with a Content-Length (the host forwards a body only so).
                request.Content = new StringContent("""{"Data":{"timer":{"IsPastDue":false}},"Metadata":{"sys":{"MethodName":"RefreshTokens"}}}""",
                    System.Text.Encoding.UTF8, "application/json");
            }

            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();

            ((int)response.StatusCode).ShouldBeInRange(400, 499, body);
            body.ShouldNotContain("Scheduled run");
            body.ShouldNotContain("accessToken");
            body.ShouldNotContain("apiSecret");
            if (reading == Emulation.ClientForwardingHeaders.Overwritten)
            {
                fixture.Host.Invocations.Skip(before).ShouldAllBe(i => i.ForwardedUri.Contains("/api/oauth/bybit/", StringComparison.Ordinal),
                    "the front end's own values: the request stays on its function");
            }
        }
        finally
        {
            fixture.Host.FrontEnd.ForwardingHeaders = previous;
        }
    }

    [Fact]
    public async Task The_timer_route_answers_only_the_hosts_own_timer_invocation()
    {
        var timer = fixture.Host.Timers["RefreshTokens"];
        using var http = new HttpClient();

        async Task<HttpResponseMessage> SendAsync(Action<HttpRequestMessage> change)
        {
            var request = timer.InvocationRequest(fixture.Host.HandlerPort, Emulation.FunctionsHostEmulator.HostVersion, isPastDue: false, DateTime.UtcNow);
            change(request);
            return await http.SendAsync(request);
        }

        // The host's invocation as it is, less one thing or plus one: each is what a forwarded request would look like.
        var payload = """{"Data":{"timer":{"IsPastDue":false}},"Metadata":{"sys":{"MethodName":"RefreshTokens"}}}""";
        var forged = new (string Why, Action<HttpRequestMessage> Change)[]
        {
            ("a body with a Content-Length", r => r.Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json")),
            ("a client address the front end wrote", r => r.Headers.TryAddWithoutValidation("Client-IP", "203.0.113.7:50123")),
            ("a forwarded scheme", r => r.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https")),
            ("a cookie", r => r.Headers.TryAddWithoutValidation("Cookie", "a=b")),
            ("the public Host", r => r.Headers.Host = "broker.example.com"),
        };
        foreach (var (why, change) in forged)
        {
            using var refused = await SendAsync(change);
            refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden, why);
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("not_a_timer_invocation", why);
        }

        using var wrongFunction = await SendAsync(r => r.Content = new ChunkedContent(payload.Replace("\"MethodName\":\"RefreshTokens\"", "\"MethodName\":\"Other\"", StringComparison.Ordinal)));
        wrongFunction.StatusCode.ShouldBe(HttpStatusCode.Forbidden, "another function's payload");
    }

    /// <summary>A chunked JSON body, as the host's <c>ObjectContent</c> is sent.</summary>
    private sealed class ChunkedContent(string json) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(json)).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task The_handler_refuses_a_forwarded_path_no_function_route_produces()
    {
        // As if the host had forwarded it: straight to the handler's port. An account id with a backslash matches the
        // app's own route but no function's; the demo page is served standalone, never by a function.
        using var http = new HttpClient();
        var handler = new Uri($"http://127.0.0.1:{fixture.Host.HandlerPort}/");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(handler, "api/links/bybit/a%5Cb/credential?userId=u").AbsoluteUri,
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));
        request.Headers.Add("X-Api-Key", fixture.BackendKey);
        using var credential = await http.SendAsync(request);
        credential.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await credential.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("unknown_route");

        using var demo = await http.GetAsync(new Uri(handler, "demo/"));
        demo.StatusCode.ShouldBe(HttpStatusCode.NotFound);

        using var health = await http.GetAsync(new Uri(handler, "api/health"));
        health.StatusCode.ShouldBe(HttpStatusCode.OK, "a function's route passes");
    }

    [Fact]
    public async Task A_long_legal_query_that_the_host_re_encodes_still_reaches_the_app()
    {
        // 7000 '/' fit the host's 8 KiB request line; re-encoded as %2F they are 21000 characters at the handler.
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/callback?state=" + new string('/', 7000)));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("invalid_parameter", "the app's own answer, not the handler's 414");
    }

    [Theory]
    [InlineData(Emulation.RequestTraceReading.SystemCategoriesOnly)]
    [InlineData(Emulation.RequestTraceReading.HostJsonLogLevel)]
    public async Task Host_telemetry_never_records_a_callback_code_or_state(Emulation.RequestTraceReading reading)
    {
        fixture.Host.Telemetry.Reading = reading;
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync();
        var state = System.Web.HttpUtility.ParseQueryString(authorize.Query)["state"]!;
        var callback = await browser.ConsentAsync(authorize);
        var code = System.Web.HttpUtility.ParseQueryString(callback.Query)["code"]!;
        using (var completed = await browser.GetAsync(callback))
        {
            completed.StatusCode.ShouldBe(HttpStatusCode.Found);
        }

        fixture.Host.Invocations.ShouldContain(i => i.Function == "Callback" && i.ForwardedUri.Contains(state, StringComparison.Ordinal), "the callback went through the host");
        fixture.Host.Log.Entries.ShouldNotContain(e => e.Message.Contains(state, StringComparison.Ordinal) || e.Message.Contains(code, StringComparison.Ordinal));
        fixture.Host.Telemetry.Reading = Emulation.RequestTraceReading.SystemCategoriesOnly;
    }
}
