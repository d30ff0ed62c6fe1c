using System.Net;
using System.Text.Json;
using OAuthBroker.Links;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>The backend's side: a valid credential on request, refreshed when near expiry, never the refresh token.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class CredentialEndpointTests(BrokerEnvironmentFixture fixture)
{
    protected virtual HttpRequestMessage Request(HttpMethod method, string provider, string accountId, string userId, string? key)
    {
        var request = new HttpRequestMessage(method, new Uri(fixture.BrokerUri, $"api/links/{provider}/{Uri.EscapeDataString(accountId)}/{(method == HttpMethod.Get ? "credential" : "refresh")}?userId={Uri.EscapeDataString(userId)}"));
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        return request;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, string Raw)> CallAsync(HttpMethod method, string provider, string accountId, string userId, string? key = null)
    {
        using var http = new HttpClient();
        using var request = Request(method, provider, accountId, userId, key ?? fixture.BackendKey);
        using var response = await http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        response.Headers.CacheControl!.NoStore.ShouldBeTrue();
        return (response.StatusCode, JsonDocument.Parse(raw).RootElement, raw);
    }

    private async Task<(BrowserSession Browser, string AccountId)> LinkAsync(string provider)
    {
        var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: provider);
        return (browser, (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId);
    }

    [Fact]
    public async Task A_backend_gets_the_access_token_and_api_key_but_never_the_refresh_token()
    {
        var (browser, account) = await LinkAsync("bybit");
        using var _ = browser;
        var vaulted = await fixture.CredentialOfAsync(browser.User, "bybit", account);

        var (status, body, raw) = await CallAsync(HttpMethod.Get, "bybit", account, browser.User);

        status.ShouldBe(HttpStatusCode.OK);
        body.GetProperty("accessToken").GetString().ShouldBe(vaulted.AccessToken);
        body.GetProperty("tokenType").GetString().ShouldBe("Bearer");
        body.GetProperty("apiKey").GetString().ShouldBe(vaulted.ApiKey);
        body.GetProperty("apiSecret").GetString().ShouldBe(vaulted.ApiSecret);
        raw.ShouldNotContain(vaulted.RefreshToken!);
        raw.ShouldNotContain("refresh", Case.Insensitive);
        fixture.Logs.Lines.ShouldContain(l => l.Contains("read by backend platform", StringComparison.Ordinal), "every read leaves an audit line");
    }

    [Fact]
    public async Task A_token_near_expiry_is_refreshed_before_it_is_handed_out_and_a_forced_refresh_rotates()
    {
        var (browser, account) = await LinkAsync("bybit");
        using var _ = browser;
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", account);

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(23.97)))
        {
            var (status, body, _) = await CallAsync(HttpMethod.Get, "bybit", account, browser.User);
            status.ShouldBe(HttpStatusCode.OK);
            body.GetProperty("accessToken").GetString().ShouldNotBe(before.AccessToken);
        }

        var middle = await fixture.CredentialOfAsync(browser.User, "bybit", account);
        var (forcedStatus, forced, _) = await CallAsync(HttpMethod.Post, "bybit", account, browser.User);
        forcedStatus.ShouldBe(HttpStatusCode.OK);
        forced.GetProperty("accessToken").GetString().ShouldNotBe(middle.AccessToken);
        (await fixture.CredentialOfAsync(browser.User, "bybit", account)).RefreshToken.ShouldNotBe(middle.RefreshToken);
    }

    [Fact]
    public async Task Backends_must_authenticate_and_a_limited_key_reads_only_its_providers()
    {
        var (browser, account) = await LinkAsync("bybit");
        using var _ = browser;

        (await CallAsync(HttpMethod.Get, "bybit", account, browser.User, key: "")).Status.ShouldBe(HttpStatusCode.Unauthorized);
        (await CallAsync(HttpMethod.Get, "bybit", account, browser.User, key: "wrong-key-wrong-key-wrong-key-wrong")).Status.ShouldBe(HttpStatusCode.Unauthorized);
        var (forbidden, body, _) = await CallAsync(HttpMethod.Get, "bybit", account, browser.User, key: fixture.LimitedBackendKey);
        forbidden.ShouldBe(HttpStatusCode.Forbidden);
        body.GetProperty("code").GetString().ShouldBe("backend_forbidden");

        // The development identity is no backend credential.
        using var http = new HttpClient();
        using var request = Request(HttpMethod.Get, "bybit", account, browser.User, key: null);
        request.Headers.Add("X-Dev-User", browser.User);
        using var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Links_the_user_must_repair_answer_with_what_to_do()
    {
        using var quickKey = OAuthBroker.Tests.Sandbox.SandboxSwitch.Set(fixture.SandboxOptions.WhiteBit, o => o.KeyCreatedAfter = TimeSpan.Zero); // WhiteBIT's key at the callback's look
        var (browser, account) = await LinkAsync("whitebit");
        using var _ = browser;
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(5)))
        {
            var (status, body, _) = await CallAsync(HttpMethod.Get, "whitebit", account, browser.User);
            status.ShouldBe(HttpStatusCode.Conflict);
            body.GetProperty("code").GetString().ShouldBe("link_expired");
        }

        (await CallAsync(HttpMethod.Get, "bybit", "no-such-account", browser.User)).Status.ShouldBe(HttpStatusCode.NotFound);
        (await CallAsync(HttpMethod.Get, "bybit", "1", "bad user id!")).Status.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_reauth_required_link_is_a_409_and_shows_so_in_the_users_list()
    {
        var (browser, account) = await LinkAsync("bybit");
        using var _ = browser;
        fixture.SandboxFaults.Add(new OAuthBroker.Sandbox.Faults.Fault("/bybit/oauth/v1/public/refresh_token", 200, """{"retCode":10004,"retMsg":"invalid"}""", "application/json", Times: 2));

        var (status, body, _) = await CallAsync(HttpMethod.Post, "bybit", account, browser.User);

        status.ShouldBe(HttpStatusCode.Conflict);
        body.GetProperty("code").GetString().ShouldBe("reauth_required");
        (await browser.LinksAsync()).Single().Status.ShouldBe(LinkStatus.ReauthRequired);
        fixture.SandboxFaults.Clear();
    }

    [Fact]
    public async Task A_backend_with_an_app_role_token_reads_credentials_and_a_user_token_does_not()
    {
        var (browser, account) = await LinkAsync("bybit");
        using var _ = browser;

        async Task<HttpStatusCode> WithToken(string token)
        {
            using var http = new HttpClient();
            using var request = Request(HttpMethod.Get, "bybit", account, browser.User, key: null);
            request.Headers.Authorization = new("Bearer", token);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        (await WithToken(await SandboxIdentity.DaemonTokenAsync(fixture, SandboxIdentity.AllProvidersDaemon))).ShouldBe(HttpStatusCode.OK);
        (await WithToken(await SandboxIdentity.DaemonTokenAsync(fixture, SandboxIdentity.BuiltByBitDaemon))).ShouldBe(HttpStatusCode.Forbidden);
        (await WithToken(await SandboxIdentity.SignInAsync(fixture, "a-person"))).ShouldBe(HttpStatusCode.Unauthorized, "a user's token is no backend credential");
        // Entra ID lets app roles be assigned to users; their ID token carries the role and no scp (review host-review-1, defect 3).
        (await WithToken(await SandboxIdentity.SignInAsync(fixture, "a-person-with-the-role", "OAuthBroker.Backend"))).ShouldBe(HttpStatusCode.Unauthorized, "a user's ID token carrying the role is no backend credential");
    }
}
