using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// A single-page app on another origin starts a flow in a pop-up: it trades its bearer token for a 60-second,
/// single-use ticket, and the pop-up (which cannot carry the token) presents the ticket. The token never enters a URL.
/// The ticket only starts the flow; the app confirms the link with its bearer token (the completion step).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class StartTicketTests(BrokerEnvironmentFixture fixture)
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> StartAsync(string? bearer, string provider = "bybit", string returnUrl = "http://localhost:5173/connected")
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri, $"api/oauth/{provider}/start?returnUrl={Uri.EscapeDataString(returnUrl)}"));
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task A_ticket_starts_the_flow_in_a_pop_up_and_the_app_confirms_the_link_with_its_bearer_token()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "spa-user-1");
        var (status, body) = await StartAsync(token);
        status.ShouldBe(HttpStatusCode.OK);
        var authorizePath = body.GetProperty("authorizeUrl").GetString()!;
        fixture.SeenSecrets.Add(body.GetProperty("ticket").GetString());
        authorizePath.ShouldNotContain(token);

        // The app's browser: no development identity, only the bearer token the app holds. The pop-up shares its
        // cookie jar, as a pop-up shares its opener's browser.
        using var browser = fixture.NewBrowser("spa-user-1");
        browser.ForgetDevelopmentIdentity();
        using var authorize = await browser.GetRawAsync(new Uri(fixture.BrokerUri, authorizePath));
        authorize.StatusCode.ShouldBe(HttpStatusCode.Found);
        authorize.Headers.GetValues("Set-Cookie").ShouldContain(c => c.StartsWith("oauth-browser-", StringComparison.Ordinal));

        using var replay = await browser.GetRawAsync(new Uri(fixture.BrokerUri, authorizePath));
        replay.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await replay.Content.ReadAsStringAsync()).ShouldContain("invalid_ticket");

        // The provider leg ends pending, on the app's allow-listed return page, with the completion code in the fragment.
        var callback = await browser.ConsentAsync(authorize.Headers.Location!, uid: 606060);
        using var landed = await browser.GetRawAsync(callback);
        landed.Headers.Location!.AbsoluteUri.ShouldStartWith("http://localhost:5173/connected?oauth_provider=bybit&oauth_result=pending#oauth_completion=");
        var pending = browser.PendingReturn(landed)!.Value;
        (await LinksAsync(token)).GetArrayLength().ShouldBe(0, "no link before the app confirms");

        // The app confirms with its bearer token, from the same browser (credentials included).
        using var completed = await browser.CompleteAsync("bybit", pending.Code, bearer: token);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        completed.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var linked = await completed.Content.ReadFromJsonAsync<JsonElement>();
        linked.GetProperty("result").GetString().ShouldBe("linked");
        linked.GetProperty("provider").GetString().ShouldBe("bybit");
        linked.GetProperty("accountId").GetString().ShouldBe("606060");
        (await LinksAsync(token)).EnumerateArray().ShouldContain(l => l.GetProperty("accountId").GetString() == "606060");
    }

    private async Task<JsonElement> LinksAsync(string bearer)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/links"));
        request.Headers.Authorization = new("Bearer", bearer);
        using var response = await http.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Tickets_need_an_authenticated_user_an_allowed_return_url_and_the_same_provider()
    {
        (await StartAsync(bearer: null)).Status.ShouldBe(HttpStatusCode.Unauthorized);

        var token = await SandboxIdentity.SignInAsync(fixture, "spa-user-2");
        var (badReturn, body) = await StartAsync(token, returnUrl: "https://evil.example/steal");
        badReturn.ShouldBe(HttpStatusCode.BadRequest);
        body.GetProperty("code").GetString().ShouldBe("invalid_return_url");

        var (_, issued) = await StartAsync(token, provider: "bybit");
        var ticket = issued.GetProperty("ticket").GetString()!;
        fixture.SeenSecrets.Add(ticket);
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var otherProvider = await http.GetAsync(new Uri(fixture.BrokerUri, $"api/oauth/builtbybit/authorize?ticket={ticket}"));
        otherProvider.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var forged = await http.GetAsync(new Uri(fixture.BrokerUri, "api/oauth/bybit/authorize?ticket=" + new string('A', 43)));
        (await forged.Content.ReadAsStringAsync()).ShouldContain("invalid_ticket");
    }
}
