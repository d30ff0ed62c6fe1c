using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Sandbox;

/// <summary>
/// The sandbox itself must be a faithful, strict provider, or the end-to-end tests prove nothing: single-use
/// codes, documented error codes, and rotating refresh tokens whose reuse revokes the grant.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class BybitSandboxTests(BrokerEnvironmentFixture fixture)
{
    private const string BrowserAgent = "Mozilla/5.0 (X11; Linux x86_64)";

    private async Task<JsonElement> PostAsync(string path, Dictionary<string, string> form, string userAgent = BrowserAgent)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Environment.SandboxUri, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        using var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<string> NewCodeAsync()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync());
        return HttpUtility.ParseQueryString(callback.Query)["code"]!;
    }

    private Dictionary<string, string> Exchange(string code) => new()
    {
        ["client_id"] = "sandbox-bybit-client",
        ["client_secret"] = fixture.BybitClientSecret,
        ["code"] = code,
    };

    [Fact]
    public async Task Codes_are_single_use_and_a_reused_code_is_10001()
    {
        var code = await NewCodeAsync();
        var first = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(code));
        first.GetProperty("token_type").GetString().ShouldBe("bearer");
        fixture.SeenSecrets.Add(first.GetProperty("access_token").GetString());

        var second = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(code));
        second.GetProperty("retCode").GetInt32().ShouldBe(10001);
    }

    [Fact]
    public async Task A_wrong_client_secret_is_10003_and_a_non_browser_agent_is_blocked()
    {
        var wrong = Exchange(await NewCodeAsync());
        wrong["client_secret"] = "wrong";
        (await PostAsync("/bybit/oauth/v1/public/access_token", wrong)).GetProperty("retCode").GetInt32().ShouldBe(10003);

        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(fixture.Environment.SandboxUri, "/bybit/oauth/v1/public/access_token"), new FormUrlEncodedContent(Exchange(await NewCodeAsync())));
        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Refresh_rotates_and_reusing_an_old_refresh_token_revokes_the_whole_grant()
    {
        var tokens = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(await NewCodeAsync()));
        var firstRefresh = tokens.GetProperty("refresh_token").GetString()!;
        Dictionary<string, string> Refresh(string token) => new() { ["client_id"] = "sandbox-bybit-client", ["refresh_token"] = token };

        var rotated = await PostAsync("/bybit/oauth/v1/public/refresh_token", Refresh(firstRefresh));
        var secondRefresh = rotated.GetProperty("refresh_token").GetString()!;
        secondRefresh.ShouldNotBe(firstRefresh);

        // Replay of the superseded token: refused, and the grant is dead — even the newest token stops working.
        (await PostAsync("/bybit/oauth/v1/public/refresh_token", Refresh(firstRefresh))).GetProperty("retCode").GetInt32().ShouldBe(10004);
        (await PostAsync("/bybit/oauth/v1/public/refresh_token", Refresh(secondRefresh))).GetProperty("retCode").GetInt32().ShouldBe(10004);

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.SandboxUri, "/bybit/oauth/v1/resource/restrict/openapi"));
        request.Headers.Authorization = new("Bearer", rotated.GetProperty("access_token").GetString());
        using var resource = await http.SendAsync(request);
        (await resource.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ret_code").GetInt32().ShouldBe(10001);
        foreach (var value in new[] { tokens, rotated }.SelectMany(t => new[] { t.GetProperty("access_token").GetString(), t.GetProperty("refresh_token").GetString() }))
        {
            fixture.SeenSecrets.Add(value);
        }
    }

    [Fact]
    public async Task The_tokens_carry_the_documented_claims()
    {
        var tokens = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(await NewCodeAsync()));
        var accessToken = tokens.GetProperty("access_token").GetString()!;
        using var claims = OAuthBroker.Providers.Http.JwtPayload.TryRead(accessToken)!;
        var root = claims.RootElement;
        foreach (var claim in new[] { "exp", "ClientID", "GrantMemberID", "ApprovedScope", "Nonce" })
        {
            root.TryGetProperty(claim, out _).ShouldBeTrue(claim);
        }

        root.GetProperty("GrantMemberID").ValueKind.ShouldBe(JsonValueKind.Number);
        tokens.GetProperty("expires_in").GetInt64().ShouldBe(86400);
        tokens.GetProperty("refresh_token_expires_in").GetInt64().ShouldBe(2592000);
    }
}
