using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// A single-page app on another origin starts a flow in a pop-up: it trades its bearer token for a 60-second,
/// single-use ticket, and the pop-up (which cannot carry the token) presents the ticket. The token never enters a URL.
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
    public async Task A_ticket_starts_the_flow_in_a_pop_up_for_the_tokens_user_once()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "spa-user-1");
        var (status, body) = await StartAsync(token);
        status.ShouldBe(HttpStatusCode.OK);
        var authorizePath = body.GetProperty("authorizeUrl").GetString()!;
        fixture.SeenSecrets.Add(body.GetProperty("ticket").GetString());
        authorizePath.ShouldNotContain(token);

        // The pop-up: a browser with no credentials of its own.
        using var popup = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
        using var authorize = await popup.GetAsync(new Uri(fixture.BrokerUri, authorizePath));
        authorize.StatusCode.ShouldBe(HttpStatusCode.Found);
        authorize.Headers.GetValues("Set-Cookie").ShouldContain(c => c.StartsWith("oauth-browser=", StringComparison.Ordinal));

        using var replay = await popup.GetAsync(new Uri(fixture.BrokerUri, authorizePath));
        replay.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await replay.Content.ReadAsStringAsync()).ShouldContain("invalid_ticket");

        // Finish the flow in the pop-up; the link is the token's user's, returning to the SPA's allow-listed origin.
        using var session = fixture.NewBrowser("spa-user-1");
        var consentPage = authorize.Headers.Location!;
        HttpUtility.ParseQueryString(consentPage.Query)["state"].ShouldNotBeNull();
        fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(consentPage.Query)["state"]);
        var callback = await session.ConsentAsync(consentPage, uid: 606060);
        using var completed = await popup.GetAsync(callback);
        completed.Headers.Location!.AbsoluteUri.ShouldStartWith("http://localhost:5173/connected?");
        completed.Headers.Location.Query.ShouldContain("oauth_result=linked");
        (await session.LinksAsync()).ShouldContain(l => l.AccountId == "606060");
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
