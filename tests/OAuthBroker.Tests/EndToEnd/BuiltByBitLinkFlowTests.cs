using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Providers;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// BuiltByBit end to end over real HTTP against the sandbox's BuiltByBit dialect, in each reading the documents leave open
/// (https://builtbybit.com/wiki/oauth2/, spec.yaml, the generated and official wrappers).
/// </summary>
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
        JsonSerializer.Serialize(RevocationStatus.Refused, TestJson.Options).ShouldBe("\"refused\"");
    }

    [Fact]
    public async Task A_revoked_false_answer_is_reported_as_refused_with_what_to_do()
    {
        // spec.yaml, /oauth2/token/revoke: 200 {"revoked": boolean}; false means nothing was revoked.
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 7001, provider: "builtbybit");
        var accessToken = (await fixture.CredentialOfAsync(browser.User, "builtbybit", "7001")).AccessToken;
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.BuiltByBit, o => o.RevokeAnswer = RevokeAnswer.NotRevoked);

        var (status, code, detail) = await ProviderFlowSteps.UnlinkAsync(browser, "builtbybit", "7001");

        status.ShouldBe(HttpStatusCode.BadGateway);
        code.ShouldBe("revocation_refused");
        detail.ShouldContain("BuiltByBit account");
        (await SelfStatus(accessToken)).ShouldBe(HttpStatusCode.OK, "the grant is still live at BuiltByBit");
        (await browser.LinksAsync()).ShouldHaveSingleItem("never erase the only copy of a live grant");
    }

    [Fact]
    public async Task A_disabled_API_token_is_the_operators_problem_at_link_and_a_refusal_at_unlink()
    {
        // The wiki: the client credentials "are tied to the token (meaning the token's enabled scopes & disabled status)".
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 7002, provider: "builtbybit");
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.BuiltByBit, o => o.ApiTokenDisabled = true);

        var (status, code, detail) = await ProviderFlowSteps.UnlinkAsync(browser, "builtbybit", "7002");
        status.ShouldBe(HttpStatusCode.BadGateway);
        code.ShouldBe("revocation_refused");
        detail.ShouldContain("Project name");
        (await browser.LinksAsync()).ShouldHaveSingleItem();

        using var other = fixture.NewBrowser();
        ProviderFlowSteps.ErrorOf(await other.LinkAsync(uid: 7003, provider: "builtbybit")).ShouldBe("provider_misconfigured");
    }

    [Fact]
    public async Task A_rate_limited_members_self_is_provider_unavailable_and_writes_nothing()
    {
        // The official wrappers: 429 with a Retry-After they read as milliseconds.
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.BuiltByBit, o => { o.ReadRequestsPerMinute = 0; o.RetryAfterUnit = RetryAfterUnit.Milliseconds; });
        using var browser = fixture.NewBrowser();

        ProviderFlowSteps.ErrorOf(await browser.LinkAsync(uid: 7004, provider: "builtbybit")).ShouldBe("provider_unavailable");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Theory]
    // Rotation is undocumented: a new refresh token each time, or the same one again.
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_forced_refresh_works_with_or_without_rotation(bool rotate)
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.BuiltByBit, o => o.RotateRefreshTokens = rotate);
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: rotate ? 7005 : 7006, provider: "builtbybit");
        var account = rotate ? "7005" : "7006";
        var before = await fixture.CredentialOfAsync(browser.User, "builtbybit", account);

        (await ProviderFlowSteps.ForceRefreshAsync(fixture, "builtbybit", account, browser.User)).ShouldBe(HttpStatusCode.OK);
        (await ProviderFlowSteps.ForceRefreshAsync(fixture, "builtbybit", account, browser.User)).ShouldBe(HttpStatusCode.OK);

        var after = await fixture.CredentialOfAsync(browser.User, "builtbybit", account);
        after.AccessToken.ShouldNotBe(before.AccessToken);
        (after.RefreshToken == before.RefreshToken).ShouldBe(!rotate);
    }

    [Theory]
    // How BuiltByBit reads the Basic header is undocumented beyond "HTTP Basic"; the broker sends the raw form by default.
    [InlineData(BasicEncoding.Raw, "linked")]
    [InlineData(BasicEncoding.Either, "linked")]
    [InlineData(BasicEncoding.FormEncoded, "provider_misconfigured")]
    public async Task The_Basic_header_reading_decides_and_a_mismatch_is_an_operator_error(BasicEncoding reading, string expected)
    {
        // The fixture's secret contains '/' and '+', so the raw and the RFC 6749 §2.3.1 forms differ.
        using var _ = SandboxSwitch.Set(fixture.SandboxOptions.BuiltByBit, o => o.BasicEncoding = reading);
        using var browser = fixture.NewBrowser();

        var returned = await browser.LinkAsync(provider: "builtbybit");

        (ProviderFlowSteps.ErrorOf(returned) ?? "linked").ShouldBe(expected);
    }

    private async Task<HttpStatusCode> SelfStatus(string accessToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.SandboxUri, "builtbybit/v2/members/self"));
        request.Headers.Authorization = new("Bearer", accessToken);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
