using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// The completion step on its own: the code travels only in the fragment, works once, only for the flow's user, only
/// from the flow's browser, only while the pending link lives, and an unauthenticated or malformed call uses nothing up.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class CompletionStepTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>A finished provider leg in <paramref name="browser"/>, not yet confirmed.</summary>
    private static async Task<(HttpResponseMessage Landed, string Code)> PendingAsync(BrowserSession browser, string provider = "bybit")
    {
        var landed = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync(provider)));
        return (landed, browser.PendingReturn(landed).ShouldNotBeNull().Code);
    }

    private static async Task<string> CodeOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;

    [Fact]
    public async Task The_code_travels_only_in_the_fragment_of_a_no_referrer_no_store_redirect()
    {
        using var browser = fixture.NewBrowser();
        var (landed, code) = await PendingAsync(browser);
        using (landed)
        {
            landed.StatusCode.ShouldBe(HttpStatusCode.Found);
            landed.Headers.CacheControl!.NoStore.ShouldBeTrue();
            landed.Headers.GetValues("Referrer-Policy").ShouldBe(["no-referrer"]);
            var location = landed.Headers.Location!;
            location.Query.ShouldBe("?oauth_provider=bybit&oauth_result=pending", "the query (sent to servers, kept in logs) carries no code");
            location.Fragment.ShouldBe("#oauth_completion=" + code);
        }

        (await browser.LinksAsync()).ShouldBeEmpty("pending is not linked");
        using var completed = await browser.CompleteAsync("bybit", code);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await browser.LinksAsync()).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task A_code_works_once_even_when_presented_concurrently()
    {
        using var browser = fixture.NewBrowser();
        var (landed, code) = await PendingAsync(browser);
        landed.Dispose();

        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => browser.CompleteAsync("bybit", code)));
        answers.Count(a => a.StatusCode == HttpStatusCode.OK).ShouldBe(1);
        foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.OK))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await CodeOf(refused)).ShouldBe("invalid_completion");
        }

        (await browser.LinksAsync()).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task Another_user_in_the_same_browser_cannot_confirm_and_the_grant_is_revoked()
    {
        using var quickKey = OAuthBroker.Tests.Sandbox.SandboxSwitch.Set(fixture.SandboxOptions.WhiteBit, o => o.KeyCreatedAfter = TimeSpan.Zero); // WhiteBIT's key at the callback's look
        var whiteBit = fixture.Sandbox<OAuthBroker.Sandbox.WhiteBit.WhiteBitSandboxEndpoints.State>();
        var keysBefore = whiteBit.KeysById.Keys.ToHashSet();
        using var browser = fixture.NewBrowser();
        var (landed, code) = await PendingAsync(browser, "whitebit");
        landed.Dispose();
        var key = whiteBit.KeysById.Values.Where(k => !keysBefore.Contains(k.ExternalId)).ShouldHaveSingleItem();

        // Someone else signs in to the same browser (the development identity here; a bearer token alike).
        var someoneElse = await SandboxIdentity.SignInAsync(fixture, "someone-else-" + Guid.NewGuid().ToString("N")[..6]);
        browser.ForgetDevelopmentIdentity();
        using var refused = await browser.CompleteAsync("whitebit", code, bearer: someoneElse);
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await CodeOf(refused)).ShouldBe("completion_refused");
        key.Deleted.ShouldBeTrue("the refused grant was revoked at WhiteBIT");

        using var owner = fixture.NewBrowser(browser.User);
        (await owner.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Without_the_browser_cookie_the_flows_own_user_is_refused_too()
    {
        using var browser = fixture.NewBrowser();
        var (landed, code) = await PendingAsync(browser);
        landed.Dispose();

        // Same user, other browser (or a frontend calling without credentials: 'include').
        using var elsewhere = fixture.NewBrowser(browser.User);
        using var refused = await elsewhere.CompleteAsync("bybit", code);
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await CodeOf(refused)).ShouldBe("completion_refused");
        (await refused.Content.ReadAsStringAsync()).ShouldContain("credentials included");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_unauthenticated_or_malformed_completion_uses_nothing_up()
    {
        using var browser = fixture.NewBrowser();
        var (landed, code) = await PendingAsync(browser);
        landed.Dispose();

        browser.ForgetDevelopmentIdentity();
        using (var anonymous = await browser.CompleteAsync("bybit", code))
        {
            anonymous.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using var signedIn = fixture.NewBrowser(browser.User);
        foreach (Cookie cookie in browser.Cookies.GetCookies(fixture.BrokerUri))
        {
            if (cookie.Name != "dev_user")
            {
                signedIn.Cookies.Add(fixture.BrokerUri, new Cookie(cookie.Name, cookie.Value));
            }
        }

        using (var form = await signedIn.Http.PostAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/complete"), new FormUrlEncodedContent(new Dictionary<string, string> { ["completion"] = code })))
        {
            form.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "JSON only: a cross-site form post cannot complete");
            (await CodeOf(form)).ShouldBe("invalid_parameter");
        }

        using (var otherProvider = await signedIn.CompleteAsync("builtbybit", code))
        {
            (await CodeOf(otherProvider)).ShouldBe("invalid_completion");
        }

        using var completed = await signedIn.CompleteAsync("bybit", code);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK, "none of the above used the code up");
    }

    [Fact]
    public async Task A_pending_link_expires()
    {
        using var browser = fixture.NewBrowser();
        var (landed, code) = await PendingAsync(browser);
        landed.Dispose();

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30)))
        {
            using var late = await browser.CompleteAsync("bybit", code);
            late.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await CodeOf(late)).ShouldBe("invalid_completion");
        }

        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_vault_outage_at_completion_keeps_the_link_pending_so_the_frontend_can_retry()
    {
        using var browser = fixture.NewBrowser();
        var (landed, code) = await PendingAsync(browser);
        landed.Dispose();
        var secretsBefore = fixture.Environment.KeyVault.Store.ActiveCount;

        fixture.Environment.KeyVault.FailNextRequests(100);
        try
        {
            using var failed = await browser.CompleteAsync("bybit", code);
            failed.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            (await CodeOf(failed)).ShouldBe("vault_unavailable");
            (await failed.Content.ReadAsStringAsync()).ShouldContain("still pending");
        }
        finally
        {
            fixture.Environment.KeyVault.FailNextRequests(0);
        }

        fixture.Environment.KeyVault.Store.ActiveCount.ShouldBe(secretsBefore);
        using var retried = await browser.CompleteAsync("bybit", code);
        retried.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await browser.LinksAsync()).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task A_return_url_with_a_fragment_is_refused_at_authorize()
    {
        using var browser = fixture.NewBrowser();
        using var response = await browser.AuthorizeAsync(returnUrl: "/demo/callback.html#section");
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await CodeOf(response)).ShouldBe("invalid_return_url");
    }
}
