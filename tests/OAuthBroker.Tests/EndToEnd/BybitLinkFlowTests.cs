using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// The vertical slice over real HTTP: broker → sandbox consent → callback → link row in Azurite → credential in
/// the local Key Vault (read back with SecretClient) → GET /api/links → unlink; then Bybit in each reading its texts
/// allow (the guidance, the help centre's phases 2–5, Bybit's own OAuth client).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class BybitLinkFlowTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task A_Bybit_account_links_end_to_end_and_unlinks()
    {
        using var browser = fixture.NewBrowser();

        // 1. authorize: 302 to Bybit's documented authorize URL with exactly the documented parameters.
        var authorize = await browser.StartAsync();
        authorize.AbsolutePath.ShouldBe("/bybit/en/oauth");
        var query = HttpUtility.ParseQueryString(authorize.Query);
        query.AllKeys.ShouldBe(["client_id", "response_type", "redirect_uri", "scope", "state"], ignoreOrder: true);
        query["response_type"].ShouldBe("code");
        query["scope"].ShouldBe("openapi");
        query["redirect_uri"].ShouldBe(new Uri(fixture.BrokerUri, "api/oauth/bybit/callback").AbsoluteUri);
        query["state"]!.Length.ShouldBeGreaterThanOrEqualTo(43);

        // 2. consent at the sandbox; 3. the callback completes the flow and returns to the allow-listed page.
        var callback = await browser.ConsentAsync(authorize, uid: 424242001);
        using var completed = await browser.GetAsync(callback);
        completed.StatusCode.ShouldBe(HttpStatusCode.Found);
        completed.Headers.CacheControl!.NoStore.ShouldBeTrue();
        completed.Headers.GetValues("Referrer-Policy").ShouldBe(["no-referrer"]);
        completed.Headers.Location!.AbsoluteUri.ShouldBe(new Uri(fixture.BrokerUri, "demo/callback.html?oauth_provider=bybit&oauth_result=linked").AbsoluteUri);

        // 4. the link row is in Azurite, keyed without personal data.
        var table = new TableClient(new Uri($"http://127.0.0.1:{fixture.Environment.Azurite.Port}/devstoreaccount1"), "AccountLinks",
            new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey));
        var row = await table.GetEntityAsync(TableAccountLinkStore.PartitionKeyOf(browser.User), TableAccountLinkStore.RowKeyOf("bybit", "424242001"));
        row.ShouldNotBeNull();
        row.PartitionKey.ShouldNotContain(browser.User);
        row.RowKey.ShouldNotContain("424242001");
        row.GetString("UserId").ShouldBe(browser.User);
        var secretName = row.GetString("CredentialName")!;
        secretName.ShouldStartWith(CredentialNames.Prefix);
        row.Properties.Values.OfType<string>().ShouldAllBe(value => !value.StartsWith("eyJ", StringComparison.Ordinal), "no token in the row");

        // 5. tokens and API key are in the vault, readable through the real SecretClient over HTTPS.
        var secret = await fixture.SecretClient.GetSecretAsync(secretName);
        using var document = JsonDocument.Parse(secret.Value.Value);
        var credential = document.RootElement.GetProperty("credential");
        var accessToken = credential.GetProperty("accessToken").GetString()!;
        var refreshToken = credential.GetProperty("refreshToken").GetString()!;
        var apiSecret = credential.GetProperty("apiSecret").GetString()!;
        fixture.SeenSecrets.Add(accessToken);
        fixture.SeenSecrets.Add(refreshToken);
        fixture.SeenSecrets.Add(apiSecret);
        fixture.SandboxIssued.All.ShouldContain(accessToken);
        fixture.SandboxIssued.All.ShouldContain(refreshToken);
        fixture.SandboxIssued.All.ShouldContain(apiSecret);
        credential.GetProperty("apiKey").GetString().ShouldNotBeNullOrEmpty();
        credential.GetProperty("tokenType").GetString().ShouldBe("Bearer");

        // 6. GET /api/links shows it, with no secret material.
        using (var listResponse = await browser.Http.GetAsync(new Uri(fixture.BrokerUri, "api/links")))
        {
            var body = await listResponse.Content.ReadAsStringAsync();
            body.ShouldNotContain(accessToken);
            body.ShouldNotContain(refreshToken);
            body.ShouldNotContain(apiSecret);
            body.ShouldNotContain(secretName);
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Provider.ShouldBe("bybit");
        link.AccountId.ShouldBe("424242001");
        link.Status.ShouldBe(LinkStatus.Active);
        link.HasApiKey.ShouldBeTrue();
        link.HasRefreshToken.ShouldBeTrue();
        link.Scopes.ShouldBe(["openapi"]);
        var now = fixture.BrokerClock.GetUtcNow();
        link.AccessTokenExpiresAt!.Value.ShouldBeInRange(now.AddHours(23), now.AddHours(25));
        link.RefreshTokenExpiresAt!.Value.ShouldBeInRange(now.AddDays(29), now.AddDays(31));

        // 7. unlink: Bybit documents no revocation, the vaulted material is erased, the row is gone.
        using var unlink = await browser.UnlinkAsync("bybit", "424242001");
        unlink.StatusCode.ShouldBe(HttpStatusCode.OK);
        var outcome = await unlink.Content.ReadFromJsonAsync<UnlinkResult>(TestJson.Options);
        outcome!.Revocation.ShouldBe(OAuthBroker.Providers.RevocationStatus.NotSupportedByProvider);
        outcome.CredentialErased.ShouldBeTrue();
        (await browser.LinksAsync()).ShouldBeEmpty();
        (await table.GetEntityAsync(row.PartitionKey, row.RowKey)).ShouldBeNull();
        var deleted = await Should.ThrowAsync<Azure.RequestFailedException>(() => fixture.SecretClient.GetSecretAsync(secretName));
        deleted.Status.ShouldBe(404);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    public async Task The_callback_works_whether_Bybit_redirects_with_301_or_302(int status)
    {
        var options = fixture.SandboxOptions.Bybit;
        var previous = options.CallbackStatus;
        options.CallbackStatus = status;
        try
        {
            using var browser = fixture.NewBrowser();
            var result = await browser.LinkAsync();
            result.Query.ShouldContain("oauth_result=linked");
            (await browser.LinksAsync()).Count.ShouldBe(1);
        }
        finally
        {
            options.CallbackStatus = previous;
        }
    }

    [Fact]
    public async Task Linking_the_same_account_again_updates_the_link_under_a_fresh_secret_name()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 515151515);
        var store = fixture.Environment.Broker.Services.GetRequiredService<IAccountLinkStore>();
        var first = await store.GetAsync(browser.User, "bybit", "515151515", default);

        await browser.LinkAsync(uid: 515151515);
        var second = await store.GetAsync(browser.User, "bybit", "515151515", default);

        (await browser.LinksAsync()).Count.ShouldBe(1);
        // A fresh name per re-link: a soft-deleted name can never block it (issue 12).
        second!.CredentialName.ShouldNotBe(first!.CredentialName);
        second.ETag.ShouldNotBe(first.ETag);
        second.CreatedAt.ShouldBe(first.CreatedAt);
    }

    [Theory]
    // Help centre phase 5 documents uid_bearer; its UID field is not documented (result.uid or a top-level uid), and the
    // GrantMemberID claim is seen only in the guidance's sample token.
    [InlineData(UidShape.Envelope, true)]
    [InlineData(UidShape.TopLevel, true)]
    [InlineData(UidShape.Envelope, false)]
    [InlineData(UidShape.TopLevel, false)]
    public async Task The_account_id_comes_from_the_uid_endpoint_in_either_shape_with_or_without_the_claim(UidShape shape, bool omitClaim)
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => { o.UidResponseShape = shape; o.OmitUidClaim = omitClaim; });
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 777000111);
        (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId.ShouldBe("777000111");
    }

    [Fact]
    public async Task A_uid_answer_that_disagrees_with_the_tokens_claim_links_nothing()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync(), uid: 888000111);
        fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/resource/restrict/uid_bearer", 200, """{"ret_code":0,"ret_msg":"success","uid":999000111}""", "application/json"));

        using var response = await browser.GetAsync(callback);

        ProviderFlowSteps.ErrorOf(response.Headers.Location!).ShouldBe("provider_invalid_response");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Token_answers_wrapped_in_result_link_and_refresh()
    {
        // modules/oauth.js: `tokenResp.result || tokenResp`; modules/oauth.md (refresh): `resp.result||resp`.
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.TokenResponseShape = BybitTokenShape.Wrapped);
        using var browser = fixture.NewBrowser();
        (await browser.LinkAsync(uid: 424242777)).Query.ShouldContain("oauth_result=linked");
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "424242777");

        (await ProviderFlowSteps.ForceRefreshAsync(fixture, "bybit", "424242777", browser.User)).ShouldBe(HttpStatusCode.OK);

        (await fixture.CredentialOfAsync(browser.User, "bybit", "424242777")).RefreshToken.ShouldNotBe(before.RefreshToken);
    }

    [Fact]
    public async Task The_help_centres_callback_with_client_id_links_too()
    {
        // Help centre phase 3: "Required Parameters: client_id ... code".
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.CallbackParameters = BybitCallbackReading.HelpCentre);
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync(), uid: 313131313);
        HttpUtility.ParseQueryString(callback.Query).AllKeys.ShouldBe(["client_id", "code", "state"]);

        using var response = await browser.GetAsync(callback);

        response.Headers.Location!.Query.ShouldContain("oauth_result=linked");
    }

    [Fact]
    public async Task A_callback_registered_with_a_trailing_slash_as_in_the_guidance_reaches_the_broker()
    {
        // The guidance's example callback is ".../callback/?response_type=code&...", and Bybit falls back to the first
        // registered URI when the requested one does not match it ("it defaults to the first address").
        var client = fixture.SandboxOptions.Bybit.Clients[0];
        var registered = client.RedirectUris.ToList();
        client.RedirectUris.Insert(0, new Uri(fixture.BrokerUri, "api/oauth/bybit/callback/").AbsoluteUri);
        client.RedirectUris.Remove(new Uri(fixture.BrokerUri, "api/oauth/bybit/callback").AbsoluteUri);
        try
        {
            using var browser = fixture.NewBrowser();
            var callback = await browser.ConsentAsync(await browser.StartAsync(), uid: 616161616);
            callback.AbsolutePath.ShouldEndWith("/callback/");

            using var response = await browser.GetAsync(callback);

            response.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }
        finally
        {
            client.RedirectUris.Clear();
            client.RedirectUris.AddRange(registered);
        }
    }

    [Theory]
    // Help centre phase 2: "Failure or Cancellation: The pop-up remains on the Bybit page."
    [InlineData(false)]
    // Help centre phase 3: "If you cancel the verification process, the redirection will still occur."
    [InlineData(true)]
    public async Task Cancelling_links_nothing_whether_Bybit_stays_on_its_page_or_redirects(bool redirects)
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.CancelRedirects = redirects);
        using var browser = fixture.NewBrowser();
        using var cancelled = await ProviderFlowSteps.SubmitConsentAsync(browser, await browser.StartAsync(), "717171717", approve: false);

        if (!redirects)
        {
            cancelled.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        else
        {
            var callback = cancelled.Headers.Location!;
            var query = HttpUtility.ParseQueryString(callback.Query);
            query["code"].ShouldBeNull();
            query["error"].ShouldBeNull();
            using var response = await browser.GetAsync(callback);
            // The adapter marks a code-less, error-less Bybit callback as a cancellation
            // (ProviderDescriptor.CodelessCallbackMeansDenied); the callback handler reports it.
            var returned = HttpUtility.ParseQueryString(response.Headers.Location!.Query);
            returned["oauth_result"].ShouldBe("error");
            returned["oauth_error"].ShouldBe("access_denied");
        }

        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Theory]
    // modules/oauth.js meets 20039 on the resource call; the sandbox's former reading put it on the exchange.
    [InlineData(No2FaAt.OpenApi)]
    [InlineData(No2FaAt.TokenEndpoint)]
    public async Task An_account_without_2FA_is_account_not_eligible_wherever_Bybit_says_so(No2FaAt where)
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.No2FaRefusedAt = where);
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync(), uid: 202039202, no2Fa: true);

        using var response = await browser.GetAsync(callback);

        ProviderFlowSteps.ErrorOf(response.Headers.Location!).ShouldBe("account_not_eligible");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Theory]
    // No Bybit text documents the HTTP status of an error answer; the JSON code carries the meaning.
    [InlineData(200)]
    [InlineData(400)]
    public async Task A_used_code_is_provider_rejected_whatever_the_error_status(int status)
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.ErrorHttpStatus = status);
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync());
        var forged = new Uri(callback.AbsoluteUri.Replace("code=", "code=x", StringComparison.Ordinal));

        using var response = await browser.GetAsync(forged);

        ProviderFlowSteps.ErrorOf(response.Headers.Location!).ShouldBe("provider_rejected");
    }

    [Theory]
    // The guidance's example sends a browser User-Agent; Bybit's own client sends bybit-skill-oauth/1.0. Both readings link.
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_broker_links_whether_or_not_Bybit_insists_on_a_browser_User_Agent(bool required)
    {
        using var reading = SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.RequireBrowserUserAgent = required);
        using var browser = fixture.NewBrowser();
        (await browser.LinkAsync()).Query.ShouldContain("oauth_result=linked");
    }

    [Fact]
    public async Task Authorize_answers_with_the_provider_URL_as_JSON_when_asked()
    {
        using var browser = fixture.NewBrowser();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/oauth/bybit/authorize"));
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await browser.Http.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var url = new Uri(body.GetProperty("authorizationUrl").GetString()!);
        fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(url.Query)["state"]);
        url.AbsolutePath.ShouldBe("/bybit/en/oauth");
        response.Headers.GetValues("Set-Cookie").ShouldContain(c => c.StartsWith("oauth-browser-", StringComparison.Ordinal) && c.Contains("httponly", StringComparison.OrdinalIgnoreCase));
    }
}
