using System.Net;
using System.Net.Http.Json;
using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.Pages;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// Re-link and unlink respect a refresh in flight: they wait for its lease, so they neither write over it nor revoke
/// a token it is rotating. Against BuiltByBit's sandbox, whose grants rotate, revoke on reuse, and can be revoked.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class RelinkUnlinkDuringRefreshTests(BrokerEnvironmentFixture fixture)
{
    private const string TokenPath = "/builtbybit/oauth2/token";
    private const string Realm = "builtbybit";

    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();
    private StandardGrants Grants => fixture.Sandbox<StandardGrants>();

    [Fact]
    public async Task A_relink_during_a_refresh_waits_for_it_then_moves_to_the_new_grant_and_revokes_the_old_one()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 656565001, provider: "builtbybit");
        var first = (await Links.GetAsync(browser.User, "builtbybit", "656565001", default))!;
        var before = await fixture.CredentialOfAsync(browser.User, "builtbybit", "656565001");
        var oldGrant = Grants.Authenticate(Realm, before.AccessToken).ShouldNotBeNull();
        // The refresh (the next token call) waits two seconds on its way to the provider.
        fixture.SandboxFaults.Add(new Fault(TokenPath, 0, Delay: TimeSpan.FromSeconds(2)));
        Task<RefreshOutcome> refresh;
        try
        {
            refresh = fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "builtbybit", "656565001", LinkRefresher.Mode.Force, default);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            (await browser.LinkAsync(uid: 656565001, provider: "builtbybit")).Query.ShouldContain("oauth_result=linked");
            (await refresh).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var row = (await Links.GetAsync(browser.User, "builtbybit", "656565001", default))!;
        row.CredentialName.ShouldNotBe(first.CredentialName, "a re-link vaults the new grant under a fresh name");
        var current = await fixture.CredentialOfAsync(browser.User, "builtbybit", "656565001");
        var newGrant = Grants.Authenticate(Realm, current.AccessToken).ShouldNotBeNull("the vault holds the new grant's live token");
        newGrant.ShouldNotBeSameAs(oldGrant, "the refresh of the old grant did not write over the new one");
        oldGrant.Revoked.ShouldBeTrue("the replaced grant is revoked at the provider");
        (await fixture.Broker<ICredentialVault>().ReadAsync(first.CredentialName, default)).ShouldBeNull("the replaced grant's secret is erased");
    }

    [Fact]
    public async Task An_unlink_during_a_refresh_waits_for_it_and_revokes_the_newest_token()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 656565002, provider: "builtbybit");
        var link = (await Links.GetAsync(browser.User, "builtbybit", "656565002", default))!;
        var before = await fixture.CredentialOfAsync(browser.User, "builtbybit", "656565002");
        var grant = Grants.Authenticate(Realm, before.AccessToken).ShouldNotBeNull();
        // The provider rotates at once and answers two seconds later.
        fixture.SandboxFaults.Add(new Fault(TokenPath, 0, Delay: TimeSpan.FromSeconds(2)) { Phase = FaultPhase.AfterHandler });
        Task<RefreshOutcome> refresh;
        try
        {
            refresh = fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "builtbybit", "656565002", LinkRefresher.Mode.Force, default);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            using var unlink = await browser.UnlinkAsync("builtbybit", "656565002");
            unlink.StatusCode.ShouldBe(HttpStatusCode.OK);
            var answer = (await unlink.Content.ReadFromJsonAsync<UnlinkResult>(TestJson.Options))!;
            answer.Revocation.ShouldBe(OAuthBroker.Providers.RevocationStatus.Revoked);
            refresh.IsCompleted.ShouldBeTrue("the unlink waited for the refresh");
            (await refresh).ShouldBe(RefreshOutcome.Refreshed, "the refresher's write was not pulled from under it");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        grant.Revoked.ShouldBeTrue("the grant is revoked, with the token the refresh rotated to");
        (await Links.GetAsync(browser.User, "builtbybit", "656565002", default)).ShouldBeNull();
        (await fixture.Broker<ICredentialVault>().ReadAsync(link.CredentialName, default)).ShouldBeNull();
    }

    [Fact]
    public async Task A_link_whose_secret_name_was_soft_deleted_can_be_linked_again()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 656565003);
        var link = (await Links.GetAsync(browser.User, "bybit", "656565003", default))!;
        // An unlink interrupted after the vault delete: the row still names a soft-deleted secret (not purged).
        await fixture.SecretClient.StartDeleteSecretAsync(link.CredentialName);

        (await browser.LinkAsync(uid: 656565003)).Query.ShouldContain("oauth_result=linked");

        var relinked = (await Links.GetAsync(browser.User, "bybit", "656565003", default))!;
        relinked.CredentialName.ShouldNotBe(link.CredentialName);
        relinked.Status.ShouldBe(LinkStatus.Active);
        (await fixture.CredentialOfAsync(browser.User, "bybit", "656565003")).RefreshToken.ShouldNotBeNull();
    }
}
