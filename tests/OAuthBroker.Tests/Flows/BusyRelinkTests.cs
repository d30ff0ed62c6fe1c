using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Flows;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Sandbox.Pages;
using OAuthBroker.Sealing;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Flows;

/// <summary>
/// flow-review-3 M1 and L3: a grant the broker still holds for a retry is never revoked, and a pending grant is not
/// revoked where revoking reaches every grant of the user and client (it would end the live link the same provider
/// account may have). Against the OpenID Connect sandbox (Acme), whose grants say whether they were revoked.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class BusyRelinkTests(BrokerEnvironmentFixture fixture)
{
    private const string Realm = AcmeGrants.Realm;

    private StandardGrants Grants => fixture.Sandbox<StandardGrants>();

    [Fact]
    public async Task A_relink_refused_because_a_refresh_holds_the_link_keeps_the_new_grant_alive_and_its_retry_links_it()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "acme");
        var account = (await browser.LinksAsync()).Single().AccountId;
        // Leases of 10 s and a 2 s clock allowance: a relink waits 12 s for a refresh in flight, then gives up.
        await using var instance = await BrokerInstance.StartAsync(fixture, null, BrokerInstance.ShortBudget);
        var store = instance.Get<IAccountLinkStore>();
        var leases = instance.Get<LinkLeases>();
        var newGrant = AcmeGrants.Issue(fixture, account);
        var grantId = CredentialNames.GrantIdOfPending("busy-relink-" + account);
        var atTheProvider = Grants.Authenticate(Realm, newGrant.Credential.AccessToken).ShouldNotBeNull();

        // A refresher that holds the lease, and keeps renewing it for longer than the relink waits.
        var row = (await store.GetAsync(browser.User, "acme", account, default))!;
        await store.ReplaceAsync(leases.WithLease(row, "refresher-held"), default);
        using var refreshing = new CancellationTokenSource();
        var holder = Task.Run(async () =>
        {
            while (!refreshing.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
                var held = (await store.GetAsync(browser.User, "acme", account, default))!;
                await store.ReplaceAsync(leases.WithLease(held, "refresher-held"), default);
            }
        });

        try
        {
            await Should.ThrowAsync<LinkConcurrencyException>(instance.Get<LinkWriter>().SaveAsync(browser.User, "acme", newGrant, default, grantId));
        }
        finally
        {
            await refreshing.CancelAsync();
            await holder;
        }

        atTheProvider.Revoked.ShouldBeFalse("the caller still holds it for a retry");

        var held = (await store.GetAsync(browser.User, "acme", account, default))!;
        await store.ReplaceAsync(held with { LeaseOwner = null, LeaseUntil = null }, default);
        (await instance.Get<LinkWriter>().SaveAsync(browser.User, "acme", newGrant, default, grantId)).GrantId.ShouldBe(grantId);

        var linked = await fixture.CredentialOfAsync(browser.User, "acme", account);
        linked.AccessToken.ShouldBe(newGrant.Credential.AccessToken, "the retry linked the grant it was given");
        atTheProvider.Revoked.ShouldBeFalse("and the link holds a live grant");
    }

    /// <summary>The broker's pending links (its store and sealing keys), with <c>Providers:acme:RevocationScope</c> set.</summary>
    private PendingLinks PendingLinksWith(string scope)
    {
        var scopes = new RevocationScopeOptions();
        RevocationScopeOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Providers:acme:RevocationScope"] = scope }).Build(), scopes);
        return new(fixture.Broker<IPendingLinkStore>(), fixture.Broker<IAccountLinkStore>(), fixture.Broker<Sealer>(), fixture.Broker<ProviderCatalog>(), fixture.Broker<IOptions<BrokerOptions>>(),
            Options.Create(scopes), fixture.BrokerClock, NullLogger<PendingLinks>.Instance);
    }

    public static TheoryData<string> Scopes => ["Grant", "UserAndClient"];

    [Theory]
    [MemberData(nameof(Scopes))]
    public async Task A_discarded_pending_grant_is_revoked_only_where_that_cannot_reach_another_grant_of_the_user(string scope)
    {
        using var browser = fixture.NewBrowser();
        using var landed = await browser.GetRawAsync(await browser.ConsentAsync(await browser.StartAsync("acme")));
        var code = browser.PendingReturn(landed).ShouldNotBeNull().Code;
        var pendingLinks = PendingLinksWith(scope);

        var taken = (await pendingLinks.TakeAsync(code, "acme", default)).ShouldNotBeNull();
        var grant = (await pendingLinks.OpenAsync(taken, default)).ShouldNotBeNull();
        var atTheProvider = Grants.Authenticate(Realm, grant.Credential.AccessToken).ShouldNotBeNull();

        var revocation = await pendingLinks.DiscardAsync(taken, "test");

        if (scope == "Grant")
        {
            revocation.ShouldBe(RevocationStatus.Revoked);
            atTheProvider.Revoked.ShouldBeTrue();
        }
        else
        {
            revocation.ShouldBeNull("not attempted");
            atTheProvider.Revoked.ShouldBeFalse();
        }
    }
}
