using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Web;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// The vertical slice over real HTTP: broker → sandbox consent → callback → link row in Azurite → credential in
/// the local Key Vault (read back with SecretClient) → GET /api/links → unlink.
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

    [Fact]
    public async Task The_account_id_comes_from_the_uid_endpoint_when_the_token_has_no_GrantMemberID_claim()
    {
        var options = fixture.SandboxOptions.Bybit;
        options.OmitUidClaim = true;
        try
        {
            foreach (var shape in new[] { OAuthBroker.Sandbox.UidShape.Envelope, OAuthBroker.Sandbox.UidShape.TopLevel })
            {
                options.UidResponseShape = shape;
                using var browser = fixture.NewBrowser();
                await browser.LinkAsync(uid: 777000111);
                (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId.ShouldBe("777000111");
            }
        }
        finally
        {
            options.OmitUidClaim = false;
            options.UidResponseShape = OAuthBroker.Sandbox.UidShape.Envelope;
        }
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
        response.Headers.GetValues("Set-Cookie").ShouldContain(c => c.StartsWith("oauth-browser=", StringComparison.Ordinal) && c.Contains("httponly", StringComparison.OrdinalIgnoreCase));
    }
}
