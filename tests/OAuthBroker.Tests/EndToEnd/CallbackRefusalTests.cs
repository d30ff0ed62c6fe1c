using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Flows;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// Bad input of every kind gets a problem response or a redirect with an error code, and writes nothing:
/// no link for the user, no new secret in the vault.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class CallbackRefusalTests(BrokerEnvironmentFixture fixture)
{
    private SecretStore Vault => fixture.Environment.KeyVault.Store;

    [Fact]
    public async Task An_unknown_provider_is_a_404_problem()
    {
        using var browser = fixture.NewBrowser();
        using var authorize = await browser.AuthorizeAsync("nosuchprovider");
        await ShouldBeProblem(authorize, HttpStatusCode.NotFound, "unknown_provider");

        using var callback = await browser.GetAsync(new Uri(fixture.BrokerUri, "api/oauth/nosuchprovider/callback?code=x&state=y"));
        await ShouldBeProblem(callback, HttpStatusCode.NotFound, "unknown_provider");

        using var wrongCase = await browser.AuthorizeAsync("Bybit");
        if (fixture is FunctionsHost.HostedBrokerEnvironmentFixture)
        {
            // Under the host the route constraints are case-sensitive ASCII: the host itself answers, with its empty 404.
            wrongCase.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }
        else
        {
            await ShouldBeProblem(wrongCase, HttpStatusCode.NotFound, "unknown_provider");
        }

        // A NUL in the path never reaches the broker: the server refuses the request line.
        using var malformed = await browser.AuthorizeAsync("bybit%00");
        malformed.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_callback_without_state_is_refused_and_writes_nothing()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            var withoutState = new Uri(callback.GetLeftPart(UriPartial.Path) + "?code=" + HttpUtility.ParseQueryString(callback.Query)["code"]);
            using var response = await browser.GetAsync(withoutState);
            await ShouldBeProblem(response, HttpStatusCode.BadRequest, "missing_state");
        });
    }

    [Fact]
    public async Task A_forged_state_is_refused_and_writes_nothing()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            var forged = Replace(callback, "state", FlowSecrets.NewOpaqueValue());
            using var response = await browser.GetAsync(forged);
            await ShouldBeProblem(response, HttpStatusCode.BadRequest, "invalid_state");
        });
    }

    [Fact]
    public async Task A_replayed_callback_is_refused_the_second_time()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync());
        using (var first = await browser.GetAsync(callback))
        {
            first.StatusCode.ShouldBe(HttpStatusCode.Found);
        }

        var secretsAfterFirst = Vault.ActiveCount;
        using var replay = await browser.GetAsync(callback);
        await ShouldBeProblem(replay, HttpStatusCode.BadRequest, "invalid_state");
        (await browser.LinksAsync()).Count.ShouldBe(1);
        Vault.ActiveCount.ShouldBe(secretsAfterFirst);
    }

    [Fact]
    public async Task Concurrent_replays_of_one_callback_create_exactly_one_link()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync());

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => browser.GetAsync(callback)));

        responses.Count(r => r.StatusCode == HttpStatusCode.Found).ShouldBe(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.BadRequest).ShouldBe(5);
        (await browser.LinksAsync()).Count.ShouldBe(1);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_callback_from_another_browser_is_refused_and_the_flow_survives_for_its_own_browser()
    {
        using var victim = fixture.NewBrowser();
        var callback = await victim.ConsentAsync(await victim.StartAsync());

        // The flow lives in the victim's browser only: elsewhere its state names nothing.
        using var other = fixture.NewBrowser(victim.User);
        using (var crossBrowser = await other.GetAsync(callback))
        {
            await ShouldBeProblem(crossBrowser, HttpStatusCode.BadRequest, "invalid_state");
        }

        (await victim.LinksAsync()).ShouldBeEmpty();
        using var own = await victim.GetAsync(callback);
        own.StatusCode.ShouldBe(HttpStatusCode.Found);
        own.Headers.Location!.Query.ShouldContain("oauth_result=linked");
    }

    [Fact]
    public async Task A_flow_cookie_carried_into_another_browser_is_refused_there_and_the_flow_survives()
    {
        using var victim = fixture.NewBrowser();
        var callback = await victim.ConsentAsync(await victim.StartAsync());
        var flowCookie = victim.FlowCookies().ShouldHaveSingleItem();

        // Another browser with a binding cookie of its own, and one with none, both holding a copy of the sealed flow.
        using var other = fixture.NewBrowser(victim.User);
        (await other.StartAsync("builtbybit")).ShouldNotBeNull();
        using var bare = fixture.NewBrowser(victim.User);
        foreach (var browser in new[] { other, bare })
        {
            browser.Cookies.Add(new Cookie(flowCookie.Name, flowCookie.Value, flowCookie.Path, flowCookie.Domain));
            using var crossBrowser = await browser.GetAsync(callback);
            await ShouldBeProblem(crossBrowser, HttpStatusCode.BadRequest, "browser_mismatch");
        }

        using var own = await victim.GetAsync(callback);
        own.Headers.Location!.Query.ShouldContain("oauth_result=linked", customMessage: "a refused copy does not use the flow up");
    }

    [Fact]
    public async Task A_captured_flow_cookie_replayed_after_its_use_is_refused_by_the_single_use_marker()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync());
        var captured = browser.FlowCookies().ShouldHaveSingleItem();
        using (var first = await browser.GetAsync(callback))
        {
            first.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        browser.FlowCookies().ShouldBeEmpty("the callback expires the flow's cookie");
        var secretsAfterFirst = Vault.ActiveCount;
        browser.Cookies.Add(new Cookie(captured.Name, captured.Value, captured.Path, captured.Domain));
        using var replay = await browser.GetAsync(callback);
        await ShouldBeProblem(replay, HttpStatusCode.BadRequest, "invalid_state");
        (await browser.LinksAsync()).Count.ShouldBe(1);
        Vault.ActiveCount.ShouldBe(secretsAfterFirst);
    }

    [Fact]
    public async Task A_state_for_one_provider_is_refused_on_another_providers_callback()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            var elsewhere = new Uri(callback.AbsoluteUri.Replace("/api/oauth/bybit/callback", "/api/oauth/builtbybit/callback", StringComparison.Ordinal));
            using (var mixedUp = await browser.GetAsync(elsewhere))
            {
                await ShouldBeProblem(mixedUp, HttpStatusCode.BadRequest, "invalid_state");
            }

            // Even with the bybit flow's cookie sent along on the other provider's path, the seal binds the provider.
            var flowCookie = browser.FlowCookies().ShouldHaveSingleItem();
            browser.Cookies.Add(new Cookie(flowCookie.Name, flowCookie.Value, "/api/oauth/builtbybit/", flowCookie.Domain));
            using var forged = await browser.GetAsync(elsewhere);
            await ShouldBeProblem(forged, HttpStatusCode.BadRequest, "invalid_state");
        });
    }

    [Fact]
    public async Task An_expired_flow_returns_with_flow_expired_and_writes_nothing()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(11));
            using var response = await browser.GetAsync(callback);
            ShouldReturnWithError(response, "flow_expired");
        });
    }

    [Fact]
    public async Task A_used_or_expired_code_at_Bybit_10001_returns_with_provider_rejected()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            // A code the sandbox never issued: Bybit answers {"retCode":10001,...}.
            using var response = await browser.GetAsync(Replace(callback, "code", "0123456789abcdef0123456789abcdef"));
            ShouldReturnWithError(response, "provider_rejected");
        });
    }

    [Fact]
    public async Task A_Bybit_account_without_2FA_returns_with_account_not_eligible()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync(), no2Fa: true);
            using var response = await browser.GetAsync(callback);
            ShouldReturnWithError(response, "account_not_eligible");
        });
    }

    [Fact]
    public async Task A_provider_timeout_returns_with_provider_unavailable()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/access_token", 0, Delay: TimeSpan.FromSeconds(6)));
            using var response = await browser.GetAsync(callback);
            ShouldReturnWithError(response, "provider_unavailable");
        });
    }

    [Theory]
    [InlineData(200, "<html>maintenance</html>", "text/html", "provider_invalid_response")]
    [InlineData(200, "{\"access_tok", "application/json", "provider_invalid_response")]
    [InlineData(502, "Bad gateway", "text/plain", "provider_unavailable")]
    [InlineData(429, "", "text/plain", "provider_unavailable")]
    [InlineData(200, "{\"ret_code\":0,\"result\":{}}", "application/json", "provider_invalid_response")]
    public async Task A_garbage_or_failing_token_endpoint_returns_with_an_error_code(int status, string body, string contentType, string expected)
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/access_token", status, body, contentType));
            using var response = await browser.GetAsync(callback);
            ShouldReturnWithError(response, expected);
        });
    }

    [Fact]
    public async Task A_failing_OpenAPI_key_call_after_a_good_exchange_writes_nothing()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/resource/restrict/openapi", 200, "{\"ret_code\":10001,\"ret_msg\":\"unauthorized\"}", "application/json"));
            using var response = await browser.GetAsync(callback);
            ShouldReturnWithError(response, "provider_rejected");
        });
    }

    [Theory]
    [InlineData("code")]
    [InlineData("state")]
    public async Task Oversized_callback_parameters_are_a_400_problem(string parameter)
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            using var response = await browser.GetAsync(Replace(callback, parameter, new string('a', 5000)));
            await ShouldBeProblem(response, HttpStatusCode.BadRequest, "invalid_parameter");
        });
    }

    [Fact]
    public async Task A_request_line_beyond_the_server_limit_is_refused_before_any_work()
    {
        using var browser = fixture.NewBrowser();
        using var response = await browser.GetAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/callback?state=" + new string('a', 9000)));
        ((int)response.StatusCode).ShouldBeOneOf(400, 414, 431);
    }

    [Fact]
    public async Task Duplicated_callback_parameters_are_a_400_problem()
    {
        await ShouldWriteNothing(async browser =>
        {
            var callback = await browser.ConsentAsync(await browser.StartAsync());
            using var response = await browser.GetAsync(new Uri(callback.AbsoluteUri + "&code=second"));
            await ShouldBeProblem(response, HttpStatusCode.BadRequest, "invalid_parameter");
        });
    }

    [Fact]
    public async Task A_provider_error_parameter_returns_with_access_denied_without_echoing_it()
    {
        await ShouldWriteNothing(async browser =>
        {
            var authorize = await browser.StartAsync();
            var state = HttpUtility.ParseQueryString(authorize.Query)["state"];
            var callback = new Uri(fixture.BrokerUri, $"api/oauth/bybit/callback?error=%3Cscript%3E&state={state}");
            using var response = await browser.GetAsync(callback);
            ShouldReturnWithError(response, "access_denied");
            response.Headers.Location!.AbsoluteUri.ShouldNotContain("script");
        });
    }

    [Fact]
    public async Task Starting_a_flow_needs_a_user()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/authorize"));
        await ShouldBeProblem(response, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Theory]
    [InlineData("https://evil.example/steal")]
    [InlineData("//evil.example/steal")]
    [InlineData("/\\evil.example")]
    [InlineData("javascript:alert(1)")]
    public async Task A_return_url_outside_the_allow_list_is_refused_before_the_flow_starts(string returnUrl)
    {
        using var browser = fixture.NewBrowser();
        using var response = await browser.AuthorizeAsync(returnUrl: returnUrl);
        await ShouldBeProblem(response, HttpStatusCode.BadRequest, "invalid_return_url");
    }

    private async Task ShouldWriteNothing(Func<BrowserSession, Task> attempt)
    {
        using var browser = fixture.NewBrowser();
        await attempt(browser);
        (await browser.LinksAsync()).ShouldBeEmpty();
        var links = fixture.Environment.Broker.Services.GetRequiredService<OAuthBroker.Links.IAccountLinkStore>();
        (await links.ListAsync(browser.User, default)).ShouldBeEmpty();
    }

    private static void ShouldReturnWithError(HttpResponseMessage response, string errorCode)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Found);
        var query = HttpUtility.ParseQueryString(response.Headers.Location!.Query);
        query["oauth_result"].ShouldBe("error");
        query["oauth_error"].ShouldBe(errorCode);
        query["oauth_provider"].ShouldBe("bybit");
    }

    private static async Task ShouldBeProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        response.StatusCode.ShouldBe(status);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("code").GetString().ShouldBe(code);
        problem.GetProperty("type").GetString().ShouldStartWith("urn:oauth-broker:problem:");
        problem.GetProperty("title").GetString().ShouldNotBeNullOrEmpty();
        problem.GetProperty("detail").GetString().ShouldNotBeNullOrEmpty();
        problem.TryGetProperty("exception", out _).ShouldBeFalse();
        problem.GetRawText().ShouldNotContain("   at ");
    }

    private static Uri Replace(Uri url, string name, string value)
    {
        var query = HttpUtility.ParseQueryString(url.Query);
        query[name] = value;
        return new Uri(url.GetLeftPart(UriPartial.Path) + "?" + query);
    }
}
