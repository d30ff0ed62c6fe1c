using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using OAuthBroker.Sandbox;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// Two standard providers side by side, configuration only, against the sandbox's standards-conformant server:
/// "acme" (OpenID Connect by discovery, client_secret_basic, iss advertised) and "globex" (OAuth 2.0 endpoints by
/// configuration, client_secret_post, account id from a userinfo field); then the server in the readings the
/// specifications allow (OpenID Connect Core §2, §5.3.2, §5.4; RFC 7009 §2.2–2.2.1; RFC 6749 §5.2).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class GenericProviderLinkFlowTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task An_OpenID_Connect_provider_found_by_discovery_links_and_unlinks_with_revocation()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("acme");
        var query = HttpUtility.ParseQueryString(authorize.Query);
        authorize.AbsolutePath.ShouldBe("/oidc/alpha/authorize");
        query["code_challenge_method"].ShouldBe("S256");
        query["nonce"].ShouldNotBeNullOrEmpty();
        query["scope"].ShouldBe("openid profile");

        var callback = await browser.ConsentAsync(authorize);
        HttpUtility.ParseQueryString(callback.Query)["iss"].ShouldBe(new Uri(fixture.Environment.SandboxUri, "oidc/alpha").AbsoluteUri);
        using (var completed = await browser.GetAsync(callback))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Provider.ShouldBe("acme");
        link.AccountId.ShouldStartWith("user-");
        link.DisplayName.ShouldBe("Sandbox " + link.AccountId);
        link.Scopes.ShouldBe(["openid", "profile"]);

        var credential = await fixture.CredentialOfAsync(browser.User, "acme", link.AccountId);
        using var unlink = await browser.UnlinkAsync("acme", link.AccountId);
        (await unlink.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revocation").GetString().ShouldBe("revoked");
        (await browser.LinksAsync()).ShouldBeEmpty();
        (await UserinfoStatus("alpha", credential.AccessToken)).ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_plain_OAuth2_provider_configured_by_endpoints_uses_client_secret_post_and_a_userinfo_field()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("globex");
        HttpUtility.ParseQueryString(authorize.Query)["nonce"].ShouldBeNull("no openid scope, no nonce");
        using (var completed = await browser.GetAsync(await browser.ConsentAsync(authorize)))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.AccountId.ShouldStartWith("p-user-");
        using var unlink = await browser.UnlinkAsync("globex", link.AccountId);
        unlink.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_response_naming_another_issuer_is_refused_as_a_mix_up_and_writes_nothing()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("acme"));
        var otherIssuer = callback.AbsoluteUri.Replace("oidc%2Falpha", "oidc%2Fbeta", StringComparison.Ordinal);
        otherIssuer.ShouldNotBe(callback.AbsoluteUri);

        using var response = await browser.GetAsync(new Uri(otherIssuer));
        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("issuer_mismatch");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_response_without_the_advertised_iss_is_refused()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("acme"));
        var query = HttpUtility.ParseQueryString(callback.Query);
        query.Remove("iss");

        using var response = await browser.GetAsync(new Uri(callback.GetLeftPart(UriPartial.Path) + "?" + query));
        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("issuer_mismatch");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Declining_consent_returns_with_access_denied()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("acme"), approve: false);
        using var response = await browser.GetAsync(callback);
        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("access_denied");
    }

    [Fact]
    public async Task The_sandbox_server_enforces_PKCE_exact_redirect_URIs_and_single_use_codes()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("acme");

        // Without a challenge the server answers with an error, not a code.
        var withoutPkce = authorize.AbsoluteUri.Replace("code_challenge=", "ignored=", StringComparison.Ordinal);
        using (var refused = await browser.GetAsync(new Uri(withoutPkce)))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.Redirect);
            refused.Headers.Location!.Query.ShouldContain("error=invalid_request");
        }

        // A redirect URI that is not registered exactly is an error page, never a redirect.
        var otherRedirect = authorize.AbsoluteUri.Replace("callback", "callback2", StringComparison.Ordinal);
        using (var page = await browser.GetAsync(new Uri(otherRedirect)))
        {
            page.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        var code = HttpUtility.ParseQueryString((await browser.ConsentAsync(authorize)).Query)["code"]!;
        var redeem = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = new Uri(fixture.BrokerUri, "api/oauth/acme/callback").AbsoluteUri,
            ["client_id"] = "sandbox-acme-client",
            ["client_secret"] = fixture.AcmeClientSecret,
        };
        using var http = new HttpClient();
        var token = new Uri(fixture.Environment.SandboxUri, "oidc/alpha/token");
        using (var noVerifier = await http.PostAsync(token, new FormUrlEncodedContent(redeem)))
        {
            (await noVerifier.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().ShouldBe("invalid_grant");
        }

        // The code was spent by that failed attempt: a code is single-use whatever happens.
        redeem["code_verifier"] = "x";
        using var again = await http.PostAsync(token, new FormUrlEncodedContent(redeem));
        (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().ShouldBe("invalid_grant");
    }

    private async Task<HttpStatusCode> UserinfoStatus(string tenant, string accessToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.SandboxUri, $"oidc/{tenant}/userinfo"));
        request.Headers.Authorization = new("Bearer", accessToken);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_code_injected_from_another_flow_is_refused_because_the_PKCE_verifier_does_not_match()
    {
        using var victim = fixture.NewBrowser();
        using var attacker = fixture.NewBrowser();
        var victimCallback = await victim.ConsentAsync(await victim.StartAsync("acme"));
        var attackerCallback = await attacker.ConsentAsync(await attacker.StartAsync("acme"));

        // The attacker's code, replayed with the victim's own state in the victim's browser.
        var query = HttpUtility.ParseQueryString(victimCallback.Query);
        query["code"] = HttpUtility.ParseQueryString(attackerCallback.Query)["code"];
        using var response = await victim.GetAsync(new Uri(victimCallback.GetLeftPart(UriPartial.Path) + "?" + query));

        HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("provider_rejected");
        (await victim.LinksAsync()).ShouldBeEmpty();
    }

    private OidcTenant Alpha => fixture.SandboxOptions.Oidc.Tenants["alpha"];

    private OidcTenant Beta => fixture.SandboxOptions.Oidc.Tenants["beta"];

    [Fact]
    public async Task An_ID_token_without_a_name_gets_it_from_userinfo_whose_sub_matches_even_with_app_roles()
    {
        // Core §5.4: profile claims come from userinfo in the code flow; §5.3.2: userinfo's sub is the ID token's.
        using var reading = SandboxSwitch.Set(Alpha, o => o.NameInIdToken = false);
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("acme"), extra: new() { ["roles"] = "Reader Writer" });
        using (var completed = await browser.GetAsync(callback))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.AccountId.ShouldStartWith("user-");
        link.AccountId.ShouldNotContain("|");
        link.DisplayName.ShouldBe("Sandbox " + link.AccountId);
    }

    [Fact]
    public async Task An_ID_token_for_several_audiences_links_when_azp_names_the_broker()
    {
        // Core §2: aud "MAY also contain identifiers for other audiences"; azp names the party it was issued to.
        using var reading = SandboxSwitch.Set(Alpha, o => o.ExtraAudiences = ["https://api.example.com"]);
        using var browser = fixture.NewBrowser();

        (await browser.LinkAsync(provider: "acme")).Query.ShouldContain("oauth_result=linked");
    }

    [Fact]
    public async Task An_ID_token_whose_azp_is_another_client_links_nothing()
    {
        // Core §3.1.3.7 item 5: "If an azp Claim is present, the Client SHOULD verify that its client_id is the Claim Value."
        using var reading = SandboxSwitch.Set(Alpha, o => o.AuthorizedParty = "someone-else");
        using var browser = fixture.NewBrowser();

        ProviderFlowSteps.ErrorOf(await browser.LinkAsync(provider: "acme")).ShouldBe("provider_invalid_response");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Theory]
    // RFC 6749 §5.2: invalid_client is 401 with a challenge when the client used Basic ("acme"), 400 otherwise ("globex").
    [InlineData("acme", "alpha", ClientAuthMethods.PostOnly)]
    [InlineData("globex", "beta", ClientAuthMethods.BasicOnly)]
    public async Task A_revocation_endpoint_that_refuses_the_client_is_reported_as_refused(string provider, string tenant, ClientAuthMethods accepted)
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: provider);
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        var accessToken = (await fixture.CredentialOfAsync(browser.User, provider, link.AccountId)).AccessToken;
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Oidc.Tenants[tenant], o => o.RevocationAuthMethods = accepted);

        var (status, code, detail) = await ProviderFlowSteps.UnlinkAsync(browser, provider, link.AccountId);

        status.ShouldBe(HttpStatusCode.BadGateway);
        code.ShouldBe("revocation_refused");
        detail.ShouldContain("ClientAuthentication");
        (await UserinfoStatus(tenant, accessToken)).ShouldBe(HttpStatusCode.OK, "the grant is still live at the provider");
        (await browser.LinksAsync()).ShouldHaveSingleItem("never erase the only copy of a live grant");
    }

    [Fact]
    public async Task A_server_that_cannot_revoke_access_tokens_still_ends_the_grant()
    {
        // RFC 7009 §2.2.1 unsupported_token_type for the access token; the refresh token's 200 ended the grant (§2.1).
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "globex");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        using var reading = SandboxSwitch.Set(Beta, o => o.RevokesAccessTokens = false);

        var (_, outcome, detail) = await ProviderFlowSteps.UnlinkAsync(browser, "globex", link.AccountId);

        outcome.ShouldBe("revoked");
        detail.ShouldContain("until it expires");
    }
}
