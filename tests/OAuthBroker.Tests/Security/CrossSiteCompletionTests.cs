using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Flows;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// A single-page app on another site than the broker (here <c>http://localhost:5173</c> against the broker on
/// <c>127.0.0.1</c>): its completion <c>fetch</c> carries none of the broker's SameSite=Lax cookies, and
/// <c>SameSite=None</c> would not help where browsers block or partition third-party cookies (Safari ITP, Firefox Total
/// Cookie Protection). So the app binds the completion with PKCE instead: it keeps a verifier, sends its S256 challenge
/// with the ticket request, and completes with the verifier — no cookie at all. Forced linking stays closed: an
/// attacker's challenge ticket starts nothing in a browser that a page of another site sent to it, and a code that
/// leaks is useless without the verifier.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class CrossSiteCompletionTests(BrokerEnvironmentFixture fixture)
{
    private const string App = "http://localhost:5173";

    /// <summary>The app's side of the start: a fresh verifier and a ticket carrying its challenge.</summary>
    /// <summary>The app asks for a start ticket with a completion challenge for <paramref name="verifier"/>.</summary>
    private async Task<HttpResponseMessage> RequestChallengeTicketAsync(string token, string returnUrl, string verifier, string provider = "bybit")
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri,
            $"api/oauth/{provider}/start?returnUrl={Uri.EscapeDataString(returnUrl)}&completionChallenge={Pkce.S256Challenge(verifier)}"));
        request.Headers.Authorization = new("Bearer", token);
        return await http.SendAsync(request);
    }

    private async Task<(string Verifier, Uri AuthorizeUrl)> StartAsync(string token, string provider = "bybit")
    {
        var verifier = Pkce.NewVerifier();
        using var response = await RequestChallengeTicketAsync(token, App + "/connected", verifier, provider);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        fixture.SeenSecrets.Add(body.GetProperty("ticket").GetString());
        fixture.SeenSecrets.Add(verifier);
        return (verifier, new Uri(fixture.BrokerUri, body.GetProperty("authorizeUrl").GetString()!));
    }

    /// <summary>The pop-up: the app's page opens the authorize URL (so the Referer is the app's origin), the user approves.</summary>
    private static async Task<(HttpResponseMessage Landed, string Code)> PopUpAsync(BrowserSession popUp, Uri authorizeUrl, long uid, string referer = App + "/")
    {
        using var open = new HttpRequestMessage(HttpMethod.Get, authorizeUrl);
        open.Headers.Referrer = new Uri(referer);
        using var authorize = await popUp.Http.SendAsync(open);
        authorize.StatusCode.ShouldBe(HttpStatusCode.Found);
        var landed = await popUp.GetRawAsync(await popUp.ConsentAsync(authorize.Headers.Location!, uid));
        return (landed, popUp.PendingReturn(landed).ShouldNotBeNull().Code);
    }

    /// <summary>The app's completion fetch from its own site: bearer token and JSON body, none of the broker's cookies.</summary>
    private async Task<HttpResponseMessage> CompleteFromAppAsync(string code, string token, string? verifier, string provider = "bybit")
    {
        using var app = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri, $"api/oauth/{provider}/complete"))
        {
            Content = verifier is null ? JsonContent.Create(new { completion = code }) : JsonContent.Create(new { completion = code, verifier }),
        };
        request.Headers.Authorization = new("Bearer", token);
        request.Headers.Add("Origin", App);
        return await app.SendAsync(request);
    }

    private async Task<int> LinkCountAsync(string token)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/links"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength();
    }

    private static async Task<string> CodeOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;

    [Fact]
    public async Task An_app_on_another_site_completes_with_its_verifier_and_no_cookie()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "cross-site-user-" + Guid.NewGuid().ToString("N")[..6]);
        var (verifier, authorizeUrl) = await StartAsync(token);
        using var popUp = fixture.NewBrowser();
        popUp.ForgetDevelopmentIdentity();
        var (landed, code) = await PopUpAsync(popUp, authorizeUrl, uid: 545454001);
        using (landed)
        {
            landed.Headers.Location!.AbsoluteUri.ShouldStartWith(App + "/connected?oauth_provider=bybit&oauth_result=pending#oauth_completion=");
        }

        using var completed = await CompleteFromAppAsync(code, token, verifier);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        completed.Headers.GetValues("Access-Control-Allow-Origin").ShouldBe([App]);
        (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accountId").GetString().ShouldBe("545454001");
        (await LinkCountAsync(token)).ShouldBe(1);
    }

    [Fact]
    public async Task Without_the_verifier_or_with_another_one_nothing_is_linked_and_the_grant_is_discarded()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "cross-site-user-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var presented in new[] { null, Pkce.NewVerifier() })
        {
            var (verifier, authorizeUrl) = await StartAsync(token);
            using var popUp = fixture.NewBrowser();
            popUp.ForgetDevelopmentIdentity();
            var (landed, code) = await PopUpAsync(popUp, authorizeUrl, uid: 545454002);
            landed.Dispose();

            using var refused = await CompleteFromAppAsync(code, token, presented);
            refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await CodeOf(refused)).ShouldBe("completion_refused");
            (await refused.Content.ReadAsStringAsync()).ShouldContain("verifier");

            // Used up: not even the right verifier completes it now.
            using var late = await CompleteFromAppAsync(code, token, verifier);
            (await CodeOf(late)).ShouldBe("invalid_completion");
        }

        (await LinkCountAsync(token)).ShouldBe(0);
    }

    [Fact]
    public async Task The_browser_cookie_does_not_stand_in_for_the_verifier_of_a_flow_started_with_a_challenge()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "cross-site-user-" + Guid.NewGuid().ToString("N")[..6]);
        var (_, authorizeUrl) = await StartAsync(token);
        using var popUp = fixture.NewBrowser();
        popUp.ForgetDevelopmentIdentity();
        var (landed, code) = await PopUpAsync(popUp, authorizeUrl, uid: 545454003);
        landed.Dispose();

        using var withCookieOnly = await popUp.CompleteAsync("bybit", code, bearer: token);
        withCookieOnly.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await LinkCountAsync(token)).ShouldBe(0);
    }

    [Fact]
    public async Task An_attackers_challenge_ticket_starts_nothing_in_a_browser_sent_from_another_site()
    {
        // The attacker holds the verifier of their own ticket; were the flow to end in the victim's browser, a code leaking
        // from the victim's return page would complete it for the attacker. So the flow never starts there.
        var attacker = await SandboxIdentity.SignInAsync(fixture, "cross-site-attacker-" + Guid.NewGuid().ToString("N")[..6]);
        using var victim = fixture.NewBrowser("cross-site-victim-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var referer in new[] { "https://evil.example/bonus", null })
        {
            var (_, authorizeUrl) = await StartAsync(attacker);
            using var open = new HttpRequestMessage(HttpMethod.Get, authorizeUrl);
            if (referer is not null)
            {
                open.Headers.Referrer = new Uri(referer);
            }

            using var refused = await victim.Http.SendAsync(open);
            refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await CodeOf(refused)).ShouldBe("ticket_refused");
            refused.Headers.Contains("Set-Cookie").ShouldBeFalse("no flow, no cookie");

            using var again = new HttpRequestMessage(HttpMethod.Get, authorizeUrl);
            again.Headers.Referrer = new Uri(App + "/");
            using var reused = await victim.Http.SendAsync(again);
            (await CodeOf(reused)).ShouldBe("invalid_ticket", "the refused ticket was used up");
        }

        victim.FlowCookies().ShouldBeEmpty();
        (await LinkCountAsync(attacker)).ShouldBe(0);
    }

    [Fact]
    public async Task An_attackers_challenge_ticket_opened_from_the_apps_own_page_in_a_victims_browser_links_nothing()
    {
        // Issue 11's attack where the Referer check cannot help: the attacker's authorize URL sits on a page of the app
        // itself (a link in a chat message), so the victim's browser opens it with the app's origin as Referer, and the
        // victim approves at Bybit. The code lands on the app's return page in the victim's browser, whose frontend
        // completes as the victim, with the victim's own verifier: refused, and the grant is discarded. The attacker
        // holds the ticket's verifier and their own token, but never the code.
        var attacker = await SandboxIdentity.SignInAsync(fixture, "cross-site-attacker-" + Guid.NewGuid().ToString("N")[..6]);
        var victim = await SandboxIdentity.SignInAsync(fixture, "cross-site-victim-" + Guid.NewGuid().ToString("N")[..6]);
        var vaultBefore = fixture.Environment.KeyVault.Store.ActiveCount;
        var (attackersVerifier, authorizeUrl) = await StartAsync(attacker);
        var (victimsVerifier, _) = await StartAsync(victim);
        using var victimsBrowser = fixture.NewBrowser();
        victimsBrowser.ForgetDevelopmentIdentity();
        var (landed, code) = await PopUpAsync(victimsBrowser, authorizeUrl, uid: 545454005, referer: App + "/chat");
        landed.Dispose();

        using var victimsCompletion = await CompleteFromAppAsync(code, victim, victimsVerifier);
        victimsCompletion.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await CodeOf(victimsCompletion)).ShouldBe("completion_refused");

        // Should the code leak afterwards, it is used up: the attacker's verifier and token complete nothing.
        using var attackers = await CompleteFromAppAsync(code, attacker, attackersVerifier);
        (await CodeOf(attackers)).ShouldBe("invalid_completion");
        (await LinkCountAsync(attacker)).ShouldBe(0);
        (await LinkCountAsync(victim)).ShouldBe(0);
        fixture.Environment.KeyVault.Store.ActiveCount.ShouldBe(vaultBefore, "nothing of the victim's grant reached the vault");
    }

    [Fact]
    public async Task A_code_leaked_from_the_apps_return_page_links_nothing_for_whoever_caught_it()
    {
        var user = await SandboxIdentity.SignInAsync(fixture, "cross-site-user-" + Guid.NewGuid().ToString("N")[..6]);
        var (verifier, authorizeUrl) = await StartAsync(user);
        using var popUp = fixture.NewBrowser();
        popUp.ForgetDevelopmentIdentity();
        var (landed, code) = await PopUpAsync(popUp, authorizeUrl, uid: 545454004);
        landed.Dispose();

        // Whoever caught the code (a script on the return page, an onward redirect) has neither the app's verifier nor,
        // usually, the user's token; with an attacker's own token and verifier it fails on both counts.
        var attacker = await SandboxIdentity.SignInAsync(fixture, "cross-site-attacker-" + Guid.NewGuid().ToString("N")[..6]);
        using var stolen = await CompleteFromAppAsync(code, attacker, Pkce.NewVerifier());
        stolen.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await LinkCountAsync(attacker)).ShouldBe(0);

        using var late = await CompleteFromAppAsync(code, user, verifier);
        (await CodeOf(late)).ShouldBe("invalid_completion", "a wrong presenter destroys the pending link; the user connects again");
        (await LinkCountAsync(user)).ShouldBe(0);
    }

    /// <summary>
    /// flow-review-2 #1: with a challenge ticket the attacker chose the return page, so the victim's code could wait on a
    /// page that never completes (an app page with analytics reading <c>location.hash</c>, the broker's own JSON or
    /// root) and be completed by the attacker with their own verifier. Now such a ticket returns only to a registered
    /// completion page, matched as a whole URL; everything else is refused before a ticket exists.
    /// </summary>
    [Fact]
    public async Task A_challenge_ticket_returns_only_to_a_registered_completion_page_so_an_attacker_cannot_pick_where_the_code_lands()
    {
        var attacker = await SandboxIdentity.SignInAsync(fixture, "cross-site-attacker-" + Guid.NewGuid().ToString("N")[..6]);
        var elsewhere = new[]
        {
            App + "/any/page?x=1",
            App + "/connected?x=1",
            App + "/connected/",
            App + "/CONNECTED",
            new Uri(fixture.BrokerUri, "/api/providers").AbsoluteUri,
            fixture.BrokerUri.AbsoluteUri,
            "/demo/callback.html?x=1",
            "",
        };
        foreach (var returnUrl in elsewhere)
        {
            using var response = await RequestChallengeTicketAsync(attacker, returnUrl, Pkce.NewVerifier());
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, $"return page '{returnUrl}'");
            (await CodeOf(response)).ShouldBe("invalid_return_url");
        }

        // The registered pages, as configured (App/connected) and the broker's own demo page given as a path, still start.
        foreach (var returnUrl in new[] { App + "/connected", "/demo/callback.html" })
        {
            using var response = await RequestChallengeTicketAsync(attacker, returnUrl, Pkce.NewVerifier());
            response.StatusCode.ShouldBe(HttpStatusCode.OK, $"return page '{returnUrl}'");
            fixture.SeenSecrets.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString());
        }
    }

    [Fact]
    public async Task A_malformed_completion_challenge_is_refused_when_the_ticket_is_asked_for()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "cross-site-user-" + Guid.NewGuid().ToString("N")[..6]);
        using var http = new HttpClient();
        foreach (var challenge in new[] { "plain-verifier-not-a-hash", new string('A', 44), Pkce.S256Challenge(Pkce.NewVerifier()) + "&completionChallenge=" + Pkce.S256Challenge(Pkce.NewVerifier()) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri, $"api/oauth/bybit/start?completionChallenge={challenge}"));
            request.Headers.Authorization = new("Bearer", token);
            using var response = await http.SendAsync(request);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await CodeOf(response)).ShouldBe("invalid_parameter");
        }
    }
}
