using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>WhiteBIT end to end against the sandbox: the Fast API Key flow and the classic flow.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class WhiteBitLinkFlowTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task The_Fast_API_Key_flow_links_with_the_users_new_key_and_unlink_deletes_the_key()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("whitebit");
        var query = HttpUtility.ParseQueryString(authorize.Query);
        authorize.AbsolutePath.ShouldBe("/whitebit/auth/login");
        query.AllKeys.ShouldBe(["clientId", "state", "redirect_uri", "code_challenge", "code_challenge_method"]);
        query["code_challenge_method"].ShouldBe("S256");

        using (var completed = await browser.GetAsync(await browser.ConsentAsync(authorize)))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        Guid.TryParse(link.AccountId, out _).ShouldBeTrue("the key's externalId names the link");
        link.HasApiKey.ShouldBeTrue();
        link.HasRefreshToken.ShouldBeFalse();
        link.AccessTokenExpiresAt!.Value.ShouldBeInRange(fixture.BrokerClock.GetUtcNow().AddHours(3.9), fixture.BrokerClock.GetUtcNow().AddHours(4.1));

        var credential = await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId);
        credential.ApiKey.ShouldBe(link.AccountId, "newer guide: externalId is the public key");
        credential.ApiSecret.ShouldNotBeNullOrEmpty();
        credential.RefreshToken.ShouldBeNull();

        using var unlink = await browser.UnlinkAsync("whitebit", link.AccountId);
        (await unlink.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revocation").GetString().ShouldBe("revoked");
        (await KeyInfo(credential.AccessToken)).GetProperty("data").GetProperty("exists").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task A_public_key_delivered_on_the_callback_is_used_as_the_api_key()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        using (await browser.GetAsync(new Uri(callback.AbsoluteUri + "&apiKey=PUBLICKEY123")))
        {
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        (await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).ApiKey.ShouldBe("PUBLICKEY123");
    }

    [Fact]
    public async Task After_the_4_hour_token_expired_unlink_says_the_key_must_be_deleted_in_WhiteBIT_and_still_erases()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();

        using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(5));
        using var unlink = await browser.UnlinkAsync("whitebit", link.AccountId);

        var outcome = await unlink.Content.ReadFromJsonAsync<JsonElement>();
        outcome.GetProperty("revocation").GetString().ShouldBe("no_longer_possible");
        outcome.GetProperty("revocationDetail").GetString()!.ShouldContain("delete it in WhiteBIT");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_secret_already_retrieved_409_deletes_the_key_and_asks_to_start_over()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key/", 409, """{"data":{"message":["Secret already retrieved."]}}""", "application/json") { PathSuffix = "/secret" });
        using var response = await browser.GetAsync(callback);

        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("restart_required");
        (await browser.LinksAsync()).ShouldBeEmpty();
        // The documented recovery ran: the key whose secret nobody holds is gone at WhiteBIT.
        var state = fixture.Environment.Sandbox.Services.GetRequiredService<OAuthBroker.Sandbox.WhiteBit.WhiteBitSandboxEndpoints.State>();
        state.KeysById.Values.Where(k => k.ClientId == "sandbox-whitebit-client").ShouldContain(k => k.Deleted);
    }

    [Fact]
    public async Task A_423_lock_is_waited_out_with_backoff()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key/info", 423, """{"data":{"message":["Temporary lock, retry shortly."]}}""", "application/json", Times: 2));
        using var response = await browser.GetAsync(callback);

        response.Headers.Location!.Query.ShouldContain("oauth_result=linked");
    }

    [Fact]
    public async Task A_lock_that_outlasts_the_request_budget_writes_nothing()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key/info", 423, """{"data":{"message":["Temporary lock, retry shortly."]}}""", "application/json", Times: 100));
        try
        {
            using var response = await browser.GetAsync(callback);
            HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("provider_unavailable");
            (await browser.LinksAsync()).ShouldBeEmpty();
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }
    }

    [Fact]
    public async Task A_disabled_key_for_this_platform_is_account_not_eligible()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("whitebit");
        var callback = await browser.ConsentAsync(authorize, extra: new() { ["disabled_key"] = "on" });
        using var response = await browser.GetAsync(callback);
        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("account_not_eligible");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task No_key_after_the_polling_window_is_provider_rejected()
    {
        var previous = fixture.SandboxOptions.WhiteBit.KeyReadyAfterPolls;
        fixture.SandboxOptions.WhiteBit.KeyReadyAfterPolls = 1000;
        try
        {
            using var browser = fixture.NewBrowser();
            var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
            using var response = await browser.GetAsync(callback);
            HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("provider_rejected");
            (await browser.LinksAsync()).ShouldBeEmpty();
        }
        finally
        {
            fixture.SandboxOptions.WhiteBit.KeyReadyAfterPolls = previous;
        }
    }

    [Theory]
    [InlineData(401, """{"data":{"message":["Invalid request"]}}""", "provider_rejected")]
    [InlineData(422, """{"errors":{"client_secret":["validation.required"]},"notification":null}""", "provider_misconfigured")]
    [InlineData(422, """{"errors":{"code":["validation.required"]},"notification":null}""", "provider_rejected")]
    [InlineData(200, """{"access_token":"flat-not-wrapped"}""", "provider_invalid_response")]
    [InlineData(503, "maintenance", "provider_unavailable")]
    public async Task Every_documented_token_error_shape_is_a_clear_outcome_and_writes_nothing(int status, string body, string expected)
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/token", status, body, "application/json"));
        using var response = await browser.GetAsync(callback);
        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe(expected);
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Theory]
    [InlineData(401, """{"data":{"message":["Unauthorized."]}}""", "provider_rejected")]
    [InlineData(403, """{"data":{"message":["Forbidden."]}}""", "provider_rejected")]
    public async Task API_key_endpoint_errors_are_clear_outcomes(int status, string body, string expected)
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key/info", status, body, "application/json"));
        using var response = await browser.GetAsync(callback);
        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe(expected);
    }

    [Fact]
    public async Task The_classic_flow_links_with_a_rotating_refresh_token_and_no_api_key()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("whitebit-classic");
        HttpUtility.ParseQueryString(authorize.Query).AllKeys.ShouldBe(["clientId", "state"]);
        using (var completed = await browser.GetAsync(await browser.ConsentAsync(authorize)))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.HasRefreshToken.ShouldBeTrue();
        link.HasApiKey.ShouldBeFalse();
        link.Scopes.ShouldContain("apikeys.read");
        link.AccessTokenExpiresAt!.Value.ShouldBeInRange(fixture.BrokerClock.GetUtcNow().AddSeconds(250), fixture.BrokerClock.GetUtcNow().AddSeconds(310));
        using var unlink = await browser.UnlinkAsync("whitebit-classic", link.AccountId);
        (await unlink.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revocation").GetString().ShouldBe("not_supported_by_provider");
    }

    private async Task<JsonElement> KeyInfo(string accessToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.SandboxUri, "whitebit/oauth2/api-key/info"));
        request.Headers.Authorization = new("Bearer", accessToken);
        using var response = await http.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
