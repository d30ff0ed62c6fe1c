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

    [Fact]
    public async Task Host_telemetry_never_records_a_callback_code_or_state()
    {
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
    }
}
