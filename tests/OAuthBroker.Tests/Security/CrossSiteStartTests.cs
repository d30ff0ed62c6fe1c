using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// flow-review-2 #6: authorize without a ticket starts a flow for whoever the browser's sign-in cookie says. A link on
/// another site used to start (and, where the provider skips consent, finish) a flow the user never asked for. Now a
/// browser's own statement of who caused the navigation (<c>Sec-Fetch-Site</c>) decides: the broker's own pages and
/// typed URLs pass, other sites only when their Referer is a configured frontend.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class CrossSiteStartTests(BrokerEnvironmentFixture fixture)
{
    private async Task<HttpResponseMessage> AuthorizeAsync(BrowserSession browser, string site, string? referer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/oauth/bybit/authorize?returnUrl=%2Fdemo%2Fcallback.html"));
        request.Headers.Add("Sec-Fetch-Site", site);
        request.Headers.Add("Sec-Fetch-Mode", "navigate");
        if (referer is not null)
        {
            request.Headers.Referrer = new Uri(referer);
        }

        var response = await browser.Http.SendAsync(request);
        if (response.Headers.Location is { } location)
        {
            fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(location.Query)["state"]);
        }

        return response;
    }

    [Theory]
    [InlineData("cross-site", "https://attacker.example/page")]
    [InlineData("cross-site", null)]
    [InlineData("same-site", null)]
    public async Task A_navigation_from_another_site_starts_no_flow_from_the_sign_in_cookie(string site, string? referer)
    {
        using var browser = fixture.NewBrowser();
        using var response = await AuthorizeAsync(browser, site, referer);
        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().ShouldBe("cross_site_start");
        response.Headers.Contains("Set-Cookie").ShouldBeFalse("nothing was started: no flow, no binding");
    }

    [Theory]
    [InlineData("same-origin", null)]
    [InlineData("none", null)]
    [InlineData("cross-site", "http://localhost:5173/settings")]
    public async Task The_brokers_own_pages_a_typed_url_and_a_configured_frontend_start_as_before(string site, string? referer)
    {
        using var browser = fixture.NewBrowser();
        using var response = await AuthorizeAsync(browser, site, referer);
        response.StatusCode.ShouldBe(HttpStatusCode.Found);
        using var landed = await browser.GetAsync(await browser.ConsentAsync(response.Headers.Location!));
        landed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
    }
}
