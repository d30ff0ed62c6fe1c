using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Sandbox.Pages;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// Linking an account that is already linked replaces its grant. The replaced grant is revoked where revoking reaches
/// only that grant (RFC 7009), and only erased where it reaches every grant of the user and client
/// (<c>Providers:{id}:RevocationScope=UserAndClient</c>, Google-style), and a grant the provider handed back unchanged
/// stays the link's grant. Against the OpenID Connect sandbox (Acme).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class SupersededGrantTests(BrokerEnvironmentFixture fixture)
{
    private const string Realm = AcmeGrants.Realm;

    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();
    private StandardGrants Grants => fixture.Sandbox<StandardGrants>();

    public static TheoryData<string> Scopes => ["Grant", "UserAndClient"];

    [Theory]
    [MemberData(nameof(Scopes))]
    public async Task A_relink_revokes_the_replaced_grant_only_where_that_cannot_reach_the_new_one(string scope)
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "acme");
        var account = (await browser.LinksAsync()).Single().AccountId;
        var first = (await Links.GetAsync(browser.User, "acme", account, default))!;
        var oldGrant = Grants.Authenticate(Realm, (await fixture.CredentialOfAsync(browser.User, "acme", account)).AccessToken).ShouldNotBeNull();
        await using var instance = await BrokerInstance.StartAsync(fixture, null, [.. BrokerInstance.ShortBudget, $"--Providers:acme:RevocationScope={scope}"]);

        var relinked = await instance.Get<LinkWriter>().SaveAsync(browser.User, "acme", AcmeGrants.Issue(fixture, account), default);

        relinked.CredentialName.ShouldNotBe(first.CredentialName);
        relinked.GrantId.ShouldNotBe(first.GrantId);
        oldGrant.Revoked.ShouldBe(scope == "Grant");
        (await fixture.Broker<ICredentialVault>().ReadAsync(first.CredentialName, default)).ShouldBeNull("the replaced secret is erased either way");
        Grants.Authenticate(Realm, (await fixture.CredentialOfAsync(browser.User, "acme", account)).AccessToken).ShouldNotBeNull("the new grant is live");
    }

    [Fact]
    public async Task A_grant_handed_back_unchanged_on_relink_keeps_its_grant_id_and_is_not_revoked()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "acme");
        var account = (await browser.LinksAsync()).Single().AccountId;
        var first = (await Links.GetAsync(browser.User, "acme", account, default))!;
        var current = await fixture.CredentialOfAsync(browser.User, "acme", account);
        var grant = Grants.Authenticate(Realm, current.AccessToken).ShouldNotBeNull();

        // The provider answers the second authorization with the grant it already issued (the same refresh token).
        var relinked = await fixture.Broker<LinkWriter>().SaveAsync(browser.User, "acme", new ProviderGrant(account, null, current, ["openid", "profile"]), default);

        relinked.GrantId.ShouldBe(first.GrantId, "the same grant: nothing may later take its old secret for another grant and revoke it");
        grant.Revoked.ShouldBeFalse();
        (await fixture.Broker<ICredentialVault>().ReadAsync(first.CredentialName, default)).ShouldBeNull();
    }
}
