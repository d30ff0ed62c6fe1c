using System.Net;
using System.Text.Json;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Host;

[Collection(BrokerEnvironmentGroup.Name)]
public sealed class DemoAndErrorsTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task The_demo_page_is_served_in_Development_with_a_strict_policy_and_nothing_third_party()
    {
        using var http = new HttpClient();
        foreach (var file in new[] { "", "demo.js", "callback.html", "callback.js", "demo.css" })
        {
            using var response = await http.GetAsync(new Uri(fixture.BrokerUri, "demo/" + file));
            response.StatusCode.ShouldBe(HttpStatusCode.OK, file);
            response.Headers.GetValues("Content-Security-Policy").Single().ShouldStartWith("default-src 'self'");
            var body = await response.Content.ReadAsStringAsync();
            body.ShouldNotContain("https://");
        }

        var script = await http.GetStringAsync(new Uri(fixture.BrokerUri, "demo/callback.js"));
        script.ShouldContain("postMessage(outcome, location.origin)");
        using var traversal = await http.GetAsync(new Uri(fixture.BrokerUri, "demo/..%2Fappsettings.json"));
        traversal.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Unknown_routes_are_problem_responses()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(fixture.BrokerUri, "api/nothing-here"));
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
        body.RootElement.GetProperty("status").GetInt32().ShouldBe(404);
    }

    [Fact]
    public async Task Unlinking_an_unknown_link_is_a_404_problem_and_unlink_needs_a_user()
    {
        using var browser = fixture.NewBrowser();
        using var missing = await browser.UnlinkAsync("bybit", "1");
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await missing.Content.ReadAsStringAsync()).ShouldContain("link_not_found");

        using var anonymous = new HttpClient();
        using var response = await anonymous.DeleteAsync(new Uri(fixture.BrokerUri, "api/links/bybit/1"));
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Health_and_providers_answer_without_a_user()
    {
        using var http = new HttpClient();
        (await http.GetStringAsync(new Uri(fixture.BrokerUri, "api/health"))).ShouldBe("{\"status\":\"ok\"}");
        var providers = await http.GetStringAsync(new Uri(fixture.BrokerUri, "api/providers"));
        providers.ShouldContain("\"id\":\"bybit\"");
        providers.ShouldNotContain(fixture.BybitClientSecret);
        providers.ShouldNotContain("sandbox-bybit-client");
    }
}
