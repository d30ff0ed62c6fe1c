using System.Net;
using System.Net.Http.Json;
using OAuthBroker.Links;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Vault;

/// <summary>
/// Unlink says truthfully what the vault keeps: a purged secret is erased; a soft-deleted one (purge protection on,
/// or no purge permission) stays recoverable by the vault's administrators until its retention ends.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class UnlinkErasureTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task Unlink_under_purge_protection_says_the_credential_is_only_soft_deleted()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 696969001);
        fixture.Environment.KeyVault.ProtectFromPurge(true);
        UnlinkResult result;
        try
        {
            using var response = await browser.UnlinkAsync("bybit", "696969001");
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            result = (await response.Content.ReadFromJsonAsync<UnlinkResult>(TestJson.Options))!;
        }
        finally
        {
            fixture.Environment.KeyVault.ProtectFromPurge(false);
        }

        result.CredentialErased.ShouldBeFalse("a soft-deleted secret is recoverable");
        result.CredentialDetail.ShouldContain("recoverable");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_unlink_interrupted_after_its_revocation_is_finished_by_the_next_one()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 696969003);
        var links = fixture.Broker<IAccountLinkStore>();
        var link = (await links.GetAsync(browser.User, "bybit", "696969003", default))!;
        // Stopped after revoking and erasing the secret, before deleting the row.
        await links.ReplaceAsync(link with { Status = LinkStatus.Unlinking, LastFailure = "unlinking_notsupportedbyprovider" }, default);
        await fixture.SecretClient.StartDeleteSecretAsync(link.CredentialName);
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.Unlinking);

        using var response = await browser.UnlinkAsync("bybit", "696969003");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var result = (await response.Content.ReadFromJsonAsync<UnlinkResult>(TestJson.Options))!;
        result.Revocation.ShouldBe(OAuthBroker.Providers.RevocationStatus.NotSupportedByProvider);
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Unlink_where_the_vault_purges_says_the_credential_is_erased()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 696969002);
        var name = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "696969002", default))!.CredentialName;

        using var response = await browser.UnlinkAsync("bybit", "696969002");
        var result = (await response.Content.ReadFromJsonAsync<UnlinkResult>(TestJson.Options))!;

        result.CredentialErased.ShouldBeTrue();
        fixture.Environment.KeyVault.Store.GetDeleted(name).ShouldBeNull("purged, not only soft-deleted");
    }
}
