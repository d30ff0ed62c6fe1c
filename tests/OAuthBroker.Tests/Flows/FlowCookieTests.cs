using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Web;
using OAuthBroker.Flows;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;
using Xunit.Abstractions;

namespace OAuthBroker.Tests.Flows;

/// <summary>
/// Authorize stores nothing: the flow travels sealed in an HttpOnly cookie of the browser that started it, one cookie
/// per flow (several flows in one browser each find their own), sent only to that provider's paths, at most four per
/// provider, small (figures below), and opened by any instance that shares the key ring from Key Vault.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class FlowCookieTests(BrokerEnvironmentFixture fixture, ITestOutputHelper output)
{
    /// <summary>RFC 6265 §6.1: user agents support at least 4096 bytes per cookie (name, value and attributes together).</summary>
    private const int BrowserMinimumPerCookie = 4096;

    private TableClient FlowsTable => new(new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"), "AuthorizationFlows",
        new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey));

    private static string FlowSetCookie(HttpResponseMessage response) =>
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("oauth-flow-", StringComparison.Ordinal));

    [Fact]
    public async Task Authorize_stores_nothing_and_seals_the_flow_into_an_HttpOnly_cookie_for_the_providers_paths_only()
    {
        using var browser = fixture.NewBrowser();
        var rowsBefore = await CountRowsAsync();
        using var response = await browser.AuthorizeAsync("acme");
        response.StatusCode.ShouldBe(HttpStatusCode.Found);
        var state = HttpUtility.ParseQueryString(response.Headers.Location!.Query)["state"]!;
        fixture.SeenSecrets.Add(state);

        var setCookie = FlowSetCookie(response);
        var attributes = setCookie.Split("; ").Skip(1).ToList();
        attributes.ShouldContain("path=/api/oauth/acme/");
        attributes.ShouldContain("httponly");
        attributes.ShouldContain("samesite=lax");
        attributes.ShouldContain($"max-age={(int)(TimeSpan.FromMinutes(10) + TimeSpan.FromMinutes(5)).TotalSeconds}");
        var (name, value) = (setCookie[..setCookie.IndexOf('=')], setCookie[(setCookie.IndexOf('=') + 1)..setCookie.IndexOf(';')]);
        name.ShouldBe("oauth-flow-" + AuthorizationFlowService.CookieIdFor(state));
        foreach (var secretOrPersonal in new[] { browser.User, "callback.html", state, "acme" })
        {
            value.ShouldNotContain(secretOrPersonal, Case.Insensitive);
        }

        (await CountRowsAsync()).ShouldBe(rowsBefore, "authorize writes no flow, no marker, nothing");
        output.WriteLine($"Typical flow cookie (OpenID Connect provider with PKCE and nonce): name + value {name.Length + 1 + value.Length} bytes, Set-Cookie line {setCookie.Length} bytes.");
        setCookie.Length.ShouldBeLessThan(BrowserMinimumPerCookie / 4, "a typical flow cookie is a small fraction of what browsers keep per cookie");
    }

    [Fact]
    public async Task The_largest_flow_cookie_stays_under_what_every_browser_keeps()
    {
        // The longest user id (128 characters) and the longest return URL (2,048 characters) the broker accepts.
        using var browser = fixture.NewBrowser("u" + new string('x', 127));
        var prefix = new Uri(fixture.BrokerUri, "/demo/callback.html?pad=").AbsoluteUri;
        var returnUrl = prefix + new string('p', ReturnUrlPolicy.MaxLength - prefix.Length);
        using var response = await browser.AuthorizeAsync("acme", returnUrl);
        response.StatusCode.ShouldBe(HttpStatusCode.Found);
        fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(response.Headers.Location!.Query)["state"]);

        var setCookie = FlowSetCookie(response);
        output.WriteLine($"Largest flow cookie: Set-Cookie line {setCookie.Length} bytes; {MaxFlowsPerProviderHeader(setCookie)} bytes of Cookie header with four such flows open for one provider.");
        // Over HTTPS the name gains "__Secure-" (9) and the attributes "; secure" (8); a Key Vault version id is 32 characters, not "ephemeral" (9).
        (setCookie.Length + 9 + 8 + (32 - 9)).ShouldBeLessThan(BrowserMinimumPerCookie);
    }

    [Fact]
    public async Task Several_flows_in_one_browser_each_finish_with_their_own_cookie()
    {
        using var browser = fixture.NewBrowser();
        var first = await browser.StartAsync();
        var second = await browser.StartAsync();
        var other = await browser.StartAsync("builtbybit");
        browser.FlowCookies().Count.ShouldBe(2);
        browser.FlowCookies("builtbybit").Count.ShouldBe(1);

        var callbacks = new[] { await browser.ConsentAsync(first, uid: 515151001), await browser.ConsentAsync(second, uid: 515151002), await browser.ConsentAsync(other) };
        foreach (var callback in callbacks.Reverse())
        {
            using var landed = await browser.GetAsync(callback);
            landed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        (await browser.LinksAsync()).Count.ShouldBe(3);
        browser.FlowCookies().ShouldBeEmpty();
    }

    [Fact]
    public async Task A_browser_keeps_at_most_four_flows_per_provider_and_a_fifth_replaces_the_one_that_ends_first()
    {
        using var browser = fixture.NewBrowser();
        Uri oldest;
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromSeconds(-30)))
        {
            oldest = await browser.StartAsync();
        }

        var newer = new List<Uri>();
        for (var i = 0; i < 4; i++)
        {
            newer.Add(await browser.StartAsync());
        }

        browser.FlowCookies().Count.ShouldBe(4);
        using (var dropped = await browser.GetAsync(await browser.ConsentAsync(oldest)))
        {
            dropped.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await dropped.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("code").GetString().ShouldBe("invalid_state");
        }

        using var kept = await browser.GetAsync(await browser.ConsentAsync(newer[^1], uid: 525252001));
        kept.Headers.Location!.Query.ShouldContain("oauth_result=linked");
    }

    /// <summary>
    /// flow-review-2 #4: flow cookies are <c>__Secure-</c> (they carry a path, so <c>__Host-</c> is not possible), and a
    /// sibling subdomain can plant some. Eviction used to rank every cookie with the prefix by its clear-text expiry,
    /// so four planted far-future values made each new flow drop the browser's real ones. Now only cookies that open as
    /// this browser's own flows count: made-up values and an attacker's genuine flows (sealed for the attacker's
    /// browser) are both ignored, and all four real flows finish.
    /// </summary>
    [Fact]
    public async Task Flow_cookies_planted_by_someone_else_never_evict_the_browsers_own_flows()
    {
        using var attacker = fixture.NewBrowser();
        for (var i = 0; i < 4; i++)
        {
            await attacker.StartAsync();
        }

        using var browser = fixture.NewBrowser();
        var scope = new Uri(fixture.BrokerUri, "api/oauth/bybit/");
        foreach (var planted in attacker.FlowCookies())
        {
            browser.Cookies.Add(scope, new Cookie(planted.Name, planted.Value, "/api/oauth/bybit/"));
        }

        for (var i = 0; i < 4; i++)
        {
            browser.Cookies.Add(scope, new Cookie($"oauth-flow-planted{i}", "253402300799.v1.x.AAAA", "/api/oauth/bybit/"));
            browser.Cookies.Add(scope, new Cookie("oauth-flow-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
                "253402300799.v1.x.AAAA", "/api/oauth/bybit/"));
        }

        var flows = new List<Uri>();
        for (var i = 0; i < 4; i++)
        {
            flows.Add(await browser.StartAsync());
        }

        foreach (var (flow, i) in flows.Select((f, i) => (f, i)))
        {
            using var landed = await browser.GetAsync(await browser.ConsentAsync(flow, uid: 585858001 + i));
            landed.Headers.Location.ShouldNotBeNull($"flow {i}: {(int)landed.StatusCode}").Query.ShouldContain("oauth_result=linked");
        }
    }

    /// <summary>
    /// flow-review-2 #3: two flows started at once in a browser with no binding cookie yet (two tabs, a pop-up and a tab)
    /// each got a fresh binding, and the last Set-Cookie replaced the other, so one flow ended in <c>browser_mismatch</c>.
    /// Each new binding now has a cookie of its own name, so both survive and both flows finish.
    /// </summary>
    [Fact]
    public async Task Two_flows_started_at_once_in_a_browser_without_a_binding_cookie_both_finish()
    {
        using var browser = fixture.NewBrowser();
        using var raw = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        async Task<HttpResponseMessage> AuthorizeAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/oauth/bybit/authorize?returnUrl=%2Fdemo%2Fcallback.html"));
            request.Headers.Add("Cookie", "dev_user=" + browser.User);
            return await raw.SendAsync(request);
        }

        var responses = await Task.WhenAll(AuthorizeAsync(), AuthorizeAsync());
        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Found);
            fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(response.Headers.Location!.Query)["state"]);
            foreach (var setCookie in response.Headers.GetValues("Set-Cookie"))
            {
                // As the browser stores them: in the order the answers arrive, a later one replacing an earlier one of the same name.
                browser.Cookies.SetCookies(new Uri(fixture.BrokerUri, "api/oauth/bybit/authorize"), setCookie);
            }
        }

        foreach (var (response, i) in responses.Select((r, i) => (r, i)))
        {
            using var landed = await browser.GetAsync(await browser.ConsentAsync(response.Headers.Location!, uid: 575757001 + i));
            landed.StatusCode.ShouldBe(HttpStatusCode.Found, $"flow {i}: {await landed.Content.ReadAsStringAsync()}");
            landed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
            response.Dispose();
        }

        (await browser.LinksAsync()).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_flow_started_on_one_instance_finishes_on_another_that_shares_the_key_ring_from_Key_Vault()
    {
        var secretName = "sealing-key-" + Guid.NewGuid().ToString("N")[..12];
        await fixture.SecretClient.SetSecretAsync(secretName, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var (portA, portB) = (FreePort.Next(), FreePort.Next());
        var instanceA = await fixture.Environment.StartBrokerInstanceAsync(portA, $"--Sealing:KeyVaultSecretName={secretName}");
        var instanceB = await fixture.Environment.StartBrokerInstanceAsync(portB, $"--Sealing:KeyVaultSecretName={secretName}");
        try
        {
            using var browser = fixture.NewBrowser();
            using var authorize = await browser.Http.GetAsync(new Uri($"http://127.0.0.1:{portA}/api/oauth/bybit/authorize?returnUrl=%2Fdemo%2Fcallback.html"));
            authorize.StatusCode.ShouldBe(HttpStatusCode.Found);
            fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(authorize.Headers.Location!.Query)["state"]);
            var callback = await browser.ConsentAsync(authorize.Headers.Location!, uid: 535353001);

            // An instance with another key (the fixture's broker: an ephemeral one) cannot open the flow...
            var elsewhere = browser.FlowCookies().ShouldHaveSingleItem();
            using (var unshared = await browser.GetRawAsync(callback))
            {
                unshared.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            }

            // ...one sharing the ring from Key Vault can (the refused attempt above expired the cookie; the browser still has the flow's copy here).
            browser.Cookies.Add(new Cookie(elsewhere.Name, elsewhere.Value, elsewhere.Path, elsewhere.Domain));
            using var landed = await browser.GetRawAsync(new UriBuilder(callback) { Port = portB }.Uri);
            var pending = browser.PendingReturn(landed).ShouldNotBeNull();
            using var completion = await browser.Http.PostAsync(new Uri($"http://127.0.0.1:{portA}/api/oauth/bybit/complete"), JsonContent.Create(new { completion = pending.Code }));
            completion.StatusCode.ShouldBe(HttpStatusCode.OK, "and the pending link sealed on B opens on A");
        }
        finally
        {
            await StopAsync(instanceA);
            await StopAsync(instanceB);
        }
    }

    private static int MaxFlowsPerProviderHeader(string setCookie) => 4 * (setCookie.IndexOf(';') + 2);

    private static async Task StopAsync(Microsoft.AspNetCore.Builder.WebApplication instance)
    {
        await instance.StopAsync();
        await instance.DisposeAsync();
    }

    private async Task<int> CountRowsAsync()
    {
        var count = 0;
        try
        {
            await foreach (var _ in FlowsTable.QueryAsync(null))
            {
                count++;
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // No table yet: nothing has ever been stored.
        }

        return count;
    }
}
