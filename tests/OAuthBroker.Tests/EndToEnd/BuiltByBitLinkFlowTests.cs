using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Providers;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>BuiltByBit end to end over real HTTP against the sandbox's BuiltByBit dialect.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class BuiltByBitLinkFlowTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task A_BuiltByBit_account_links_lists_and_unlinks_with_verified_revocation()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("builtbybit");
        var query = HttpUtility.ParseQueryString(authorize.Query);
        authorize.AbsolutePath.ShouldBe("/builtbybit/account/external/authorize");
        query["scope"].ShouldBe("members.self");
        query["code_challenge"].ShouldBeNull("PKCE is off by default for BuiltByBit (undocumented)");

        using (var completed = await browser.GetAsync(await browser.ConsentAsync(authorize, uid: 31337)))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Provider.ShouldBe("builtbybit");
        link.AccountId.ShouldBe("31337");
        link.DisplayName.ShouldBe("member31337");
        link.HasRefreshToken.ShouldBeTrue();
        link.HasApiKey.ShouldBeFalse();

        var accessToken = (await fixture.CredentialOfAsync(browser.User, "builtbybit", "31337")).AccessToken;
        using var unlink = await browser.UnlinkAsync("builtbybit", "31337");
        unlink.StatusCode.ShouldBe(HttpStatusCode.OK);
        var outcome = await unlink.Content.ReadFromJsonAsync<JsonElement>();
        outcome.GetProperty("revocation").GetString().ShouldBe("revoked");
        (await browser.LinksAsync()).ShouldBeEmpty();

        // Verified at the provider: the access token no longer works.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.SandboxUri, "builtbybit/v2/members/self"));
        request.Headers.Authorization = new("Bearer", accessToken);
        using var self = await http.SendAsync(request);
        self.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_numeric_user_id_is_read_as_well_as_the_specs_string()
    {
        fixture.SandboxOptions.BuiltByBit.UserIdAsNumber = true;
        try
        {
            using var browser = fixture.NewBrowser();
            await browser.LinkAsync(uid: 4242, provider: "builtbybit");
            (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId.ShouldBe("4242");
        }
        finally
        {
            fixture.SandboxOptions.BuiltByBit.UserIdAsNumber = false;
        }
    }

    [Theory]
    [InlineData(ErrorShape.Envelope)]
    [InlineData(ErrorShape.Rfc6749)]
    public async Task A_used_code_is_provider_rejected_in_either_error_shape(ErrorShape shape)
    {
        fixture.SandboxOptions.BuiltByBit.TokenErrorShape = shape;
        try
        {
            using var browser = fixture.NewBrowser();
            var callback = await browser.ConsentAsync(await browser.StartAsync("builtbybit"));
            var forgedCode = new Uri(callback.AbsoluteUri.Replace("code=", "code=x", StringComparison.Ordinal));
            using var response = await browser.GetAsync(forgedCode);
            response.Headers.Location!.Query.ShouldContain("oauth_error=provider_rejected");
            (await browser.LinksAsync()).ShouldBeEmpty();
        }
        finally
        {
            fixture.SandboxOptions.BuiltByBit.TokenErrorShape = ErrorShape.Envelope;
        }
    }

    [Theory]
    [InlineData("/builtbybit/oauth2/token", 401, """{"result":"error","error":{"code":"Unauthorized","message":"bad client"}}""", "provider_misconfigured")]
    [InlineData("/builtbybit/oauth2/token", 400, """{"error":"invalid_client"}""", "provider_misconfigured")]
    [InlineData("/builtbybit/oauth2/token", 429, "", "provider_unavailable")]
    [InlineData("/builtbybit/v2/members/self", 401, """{"result":"error","error":{"code":"Unauthorized","message":"no"}}""", "provider_rejected")]
    [InlineData("/builtbybit/v2/members/self", 200, """{"result":"success","data":{}}""", "provider_invalid_response")]
    public async Task Every_documented_error_shape_is_a_clear_outcome_and_writes_nothing(string path, int status, string body, string expected)
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("builtbybit"));
        fixture.SandboxFaults.Add(new Fault(path, status, body, "application/json"));
        using var response = await browser.GetAsync(callback);
        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe(expected);
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_failing_revocation_keeps_the_link_and_its_credential_so_unlink_can_be_retried()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 777, provider: "builtbybit");

        fixture.SandboxFaults.Add(new Fault("/builtbybit/oauth2/token/revoke", 503, "down"));
        using (var failed = await browser.UnlinkAsync("builtbybit", "777"))
        {
            failed.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            (await failed.Content.ReadAsStringAsync()).ShouldContain("revocation_unavailable");
        }

        (await browser.LinksAsync()).ShouldHaveSingleItem().LastFailure.ShouldBe("revocation_unavailable", "the deferred unlink is recorded on the link");
        fixture.SandboxFaults.Add(new Fault("/builtbybit/oauth2/token/revoke", 429, "", Times: 1));
        using var retried = await browser.UnlinkAsync("builtbybit", "777");
        retried.StatusCode.ShouldBe(HttpStatusCode.OK, "a 429 without Retry-After is retried once in the request");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public void The_revocation_outcome_names_are_stable()
    {
        JsonSerializer.Serialize(RevocationStatus.NoLongerPossible, TestJson.Options).ShouldBe("\"no_longer_possible\"");
    }
}
