using System.Net;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Faults;

/// <summary>Key Vault answering 503: a blip is absorbed by the SDK's backoff; an outage is a clear outcome and writes nothing.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class VaultOutageTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task A_short_vault_outage_is_retried_and_the_link_is_made()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync());
        fixture.Environment.KeyVault.FailNextRequests(1);

        using var response = await browser.GetAsync(callback);

        response.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        (await browser.LinksAsync()).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task A_vault_outage_during_a_callback_returns_vault_unavailable_and_writes_nothing()
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync());
        var secretsBefore = fixture.Environment.KeyVault.Store.ActiveCount;
        fixture.Environment.KeyVault.FailNextRequests(100);
        try
        {
            using var response = await browser.GetAsync(callback);
            HttpUtility.ParseQueryString(response.Headers.Location!.Query)["oauth_error"].ShouldBe("vault_unavailable");
        }
        finally
        {
            fixture.Environment.KeyVault.FailNextRequests(0);
        }

        (await browser.LinksAsync()).ShouldBeEmpty();
        fixture.Environment.KeyVault.Store.ActiveCount.ShouldBe(secretsBefore);
    }

    [Fact]
    public async Task A_vault_outage_on_a_credential_read_is_a_503_problem()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 919191919);
        fixture.Environment.KeyVault.FailNextRequests(100);
        try
        {
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, $"api/links/bybit/919191919/credential?userId={browser.User}"));
            request.Headers.Add("X-Api-Key", fixture.BackendKey);
            using var response = await http.SendAsync(request);
            response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            (await response.Content.ReadAsStringAsync()).ShouldContain("vault_unavailable");
        }
        finally
        {
            fixture.Environment.KeyVault.FailNextRequests(0);
        }
    }
}
