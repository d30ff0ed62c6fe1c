using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// Problem bodies are the broker's own words: nothing the caller put in the path or query comes back in them (security
/// review F15; before, <c>unknown_provider</c>, <c>link_not_found</c> and <c>backend_forbidden</c> echoed the path segment).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class ProblemEchoTests(BrokerEnvironmentFixture fixture)
{
    private const string WellFormed = "zz-echo-probe";
    private const string Raw = "Echo<b>Probe";

    private async Task<string> BodyAsync(HttpMethod method, string path, string? backendKey = null)
    {
        using var browser = fixture.NewBrowser();
        using var request = new HttpRequestMessage(method, new Uri(fixture.BrokerUri, path));
        if (backendKey is not null)
        {
            request.Headers.Add("X-Api-Key", backendKey);
        }

        using var response = await browser.Http.SendAsync(request);
        ((int)response.StatusCode).ShouldBeInRange(400, 499);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        return await response.Content.ReadAsStringAsync();
    }

    [Theory]
    [InlineData("GET", "api/oauth/{0}/authorize")]
    [InlineData("GET", "api/oauth/{0}/callback?code=x&state=y")]
    [InlineData("POST", "api/oauth/{0}/start")]
    [InlineData("POST", "api/oauth/{0}/complete")]
    [InlineData("DELETE", "api/links/{0}/1")]
    public async Task A_provider_id_from_the_path_is_never_echoed(string method, string template)
    {
        foreach (var probe in new[] { WellFormed, Uri.EscapeDataString(Raw) })
        {
            var body = await BodyAsync(new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, template, probe));
            body.ShouldNotContain("echo", Case.Insensitive, $"{method} {template} echoed the path: {body}");
        }
    }

    [Fact]
    public async Task Backend_answers_do_not_echo_the_path_either()
    {
        var forbidden = await BodyAsync(HttpMethod.Get, $"api/links/{WellFormed}/1/credential?userId=u", fixture.LimitedBackendKey);
        forbidden.ShouldContain("backend_forbidden");
        forbidden.ShouldNotContain("echo", Case.Insensitive);
        var unknown = await BodyAsync(HttpMethod.Get, $"api/links/{Uri.EscapeDataString(Raw)}/1/credential?userId=u", fixture.BackendKey);
        unknown.ShouldNotContain("echo", Case.Insensitive);
    }
}
