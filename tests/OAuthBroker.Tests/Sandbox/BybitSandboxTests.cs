using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Sandbox;

/// <summary>
/// The sandbox itself must be a faithful, strict provider, or the end-to-end tests prove nothing: single-use codes,
/// documented error codes, rotating refresh tokens, and each reading the Bybit texts allow (the guidance, the help
/// centre's phases 2–5, Bybit's own client modules/oauth.js and modules/oauth.md) behind its switch.
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

    [Fact]
    public async Task The_token_answer_comes_flat_or_wrapped_in_result_as_switched()
    {
        using (SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.TokenResponseShape = OAuthBroker.Sandbox.BybitTokenShape.Wrapped))
        {
            var wrapped = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(await NewCodeAsync()));
            wrapped.GetProperty("retCode").GetInt32().ShouldBe(0);
            var result = wrapped.GetProperty("result");
            fixture.SeenSecrets.Add(result.GetProperty("access_token").GetString());
            fixture.SeenSecrets.Add(result.GetProperty("refresh_token").GetString());
            result.GetProperty("token_type").GetString().ShouldBe("bearer");
        }

        var flat = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(await NewCodeAsync()));
        fixture.SeenSecrets.Add(flat.GetProperty("access_token").GetString());
        fixture.SeenSecrets.Add(flat.GetProperty("refresh_token").GetString());
        flat.TryGetProperty("result", out _).ShouldBeFalse();
    }

    [Fact]
    public async Task A_reused_refresh_token_is_refused_and_kills_the_grant_only_in_the_replay_reading()
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.ReusedRefreshTokenRevokesGrant = false);
        var tokens = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(await NewCodeAsync()));
        var first = tokens.GetProperty("refresh_token").GetString()!;
        Dictionary<string, string> Refresh(string token) => new() { ["client_id"] = "sandbox-bybit-client", ["refresh_token"] = token };
        var rotated = await PostAsync("/bybit/oauth/v1/public/refresh_token", Refresh(first));
        var second = rotated.GetProperty("refresh_token").GetString()!;

        (await PostAsync("/bybit/oauth/v1/public/refresh_token", Refresh(first))).GetProperty("retCode").GetInt32().ShouldBe(10004);
        var still = await PostAsync("/bybit/oauth/v1/public/refresh_token", Refresh(second));
        still.GetProperty("access_token").GetString().ShouldNotBeNullOrEmpty();
        foreach (var value in new[] { tokens, rotated, still }.SelectMany(t => new[] { t.GetProperty("access_token").GetString(), t.GetProperty("refresh_token").GetString() }))
        {
            fixture.SeenSecrets.Add(value);
        }
    }

    [Fact]
    public async Task Errors_carry_the_switched_HTTP_status_and_the_JSON_code()
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.ErrorHttpStatus = 400);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Environment.SandboxUri, "/bybit/oauth/v1/public/access_token")) { Content = new FormUrlEncodedContent(Exchange("no-such-code")) };
        request.Headers.TryAddWithoutValidation("User-Agent", BrowserAgent);
        using var response = await http.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("retCode").GetInt32().ShouldBe(10001);
    }

    [Fact]
    public async Task The_approved_scopes_are_an_array_of_names_and_uid_bearer_answers_in_the_switched_shape()
    {
        var tokens = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(await NewCodeAsync()));
        var accessToken = tokens.GetProperty("access_token").GetString()!;
        fixture.SeenSecrets.Add(accessToken);
        fixture.SeenSecrets.Add(tokens.GetProperty("refresh_token").GetString());
        using var claims = OAuthBroker.Providers.Http.JwtPayload.TryRead(accessToken)!;
        claims.RootElement.GetProperty("ApprovedScope").EnumerateArray().Select(e => e.GetString()).ShouldBe(["openapi"]);

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.SandboxUri, "/bybit/oauth/v1/resource/restrict/uid_bearer"));
        request.Headers.Authorization = new("Bearer", accessToken);
        using var uid = await http.SendAsync(request);
        var body = await uid.Content.ReadFromJsonAsync<JsonElement>();
        // Help centre phase 5: "JSON with ret_code = 0 and ret_msg = "success""; the field is the default TopLevel reading.
        body.GetProperty("ret_code").GetInt32().ShouldBe(0);
        body.GetProperty("ret_msg").GetString().ShouldBe("success");
        body.GetProperty("uid").GetInt64().ShouldBe(claims.RootElement.GetProperty("GrantMemberID").GetInt64());
    }

    [Fact]
    public async Task An_account_without_2FA_is_refused_on_the_openapi_call_by_default()
    {
        // modules/oauth.js: 20039 on the resource call, read as retCode ?? ret_code.
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync(), no2Fa: true);
        var tokens = await PostAsync("/bybit/oauth/v1/public/access_token", Exchange(HttpUtility.ParseQueryString(callback.Query)["code"]!));
        var accessToken = tokens.GetProperty("access_token").GetString()!;
        fixture.SeenSecrets.Add(accessToken);
        fixture.SeenSecrets.Add(tokens.GetProperty("refresh_token").GetString());

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.SandboxUri, "/bybit/oauth/v1/resource/restrict/openapi"));
        request.Headers.Authorization = new("Bearer", accessToken);
        using var response = await http.SendAsync(request);

        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ret_code").GetInt32().ShouldBe(20039);
    }
}
