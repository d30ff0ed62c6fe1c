using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.Pages;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Vault;

/// <summary>
/// A secret no link points at holds a grant: a callback that vaulted its grant and never wrote the row (a closed
/// pop-up, a crash, a storage failure), a re-link whose replaced grant could not be revoked at once, a refresh's copy to
/// a fresh name whose row update was lost. The janitor revokes and erases it once it is older than
/// Refresh:OrphanGracePeriod on the storage service's clock, and only erases it when revoking could end the live link.
/// Against the OpenID Connect sandbox (Acme), whose grants rotate and end when any of their tokens is revoked.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OrphanedCredentialJanitorTests(BrokerEnvironmentFixture fixture)
{
    private const string Realm = "oidc:alpha";
    private static readonly string[] ShortGrace = ["--Refresh:OrphanGracePeriod=00:00:02"];

    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();
    private ICredentialVault Vault => fixture.Broker<ICredentialVault>();
    private StandardGrants Grants => fixture.Sandbox<StandardGrants>();

    /// <summary>One whole walk of the vault's listing by <paramref name="instance"/>'s janitor.</summary>
    private static async Task<int> CollectAsync(BrokerInstance instance)
    {
        await instance.Get<IBrokerStateStore>().SetAsync(OrphanedCredentialJanitor.StateKey, null, default);
        var janitor = instance.Get<IEnumerable<IHousekeepingTask>>().Single(t => t.Name == "orphaned-credentials");
        return await janitor.RunAsync(instance.Clock.GetUtcNow().AddMinutes(2), default);
    }

    private async Task<(BrowserSession Browser, AccountLink Link, StandardGrants.Grant Grant)> LinkAcmeAsync(long uid = 0)
    {
        var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: uid, provider: "acme");
        var account = (await browser.LinksAsync()).Single().AccountId;
        var credential = await fixture.CredentialOfAsync(browser.User, "acme", account);
        return (browser, (await Links.GetAsync(browser.User, "acme", account, default))!, Grants.Authenticate(Realm, credential.AccessToken).ShouldNotBeNull());
    }

    /// <summary>An orphan tagged for <paramref name="link"/> holding <paramref name="credential"/> under <paramref name="grantId"/>.</summary>
    private async Task<string> OrphanAsync(AccountLink link, OAuthBroker.Providers.ProviderCredential credential, string? grantId)
    {
        var name = CredentialNames.New();
        await Vault.WriteAsync(name, new VaultedCredential("acme", credential, DateTimeOffset.UtcNow) { Link = Links.ReferenceOf(link.UserId, "acme", link.AccountId), GrantId = grantId }, default);
        return name;
    }

    [Fact]
    public async Task A_secret_whose_row_was_never_written_is_revoked_and_erased_and_a_linked_one_is_left_alone()
    {
        var (orphanOwner, orphanRow, orphanGrant) = await LinkAcmeAsync();
        using var _ = orphanOwner;
        // As if the callback had stopped after vaulting the grant: the secret exists, no row points at it.
        (await Links.DeleteAsync(orphanRow, default)).ShouldBeTrue();
        if (orphanRow.DueKey is { } key)
        {
            await fixture.Broker<IRefreshSchedule>().RemoveAsync(key, default);
        }

        var (keeper, kept, keptGrant) = await LinkAcmeAsync();
        using var __ = keeper;
        await using var instance = await BrokerInstance.StartAsync(fixture, null, ShortGrace);
        await Task.Delay(TimeSpan.FromSeconds(3));

        (await CollectAsync(instance)).ShouldBeGreaterThanOrEqualTo(1);

        (await Vault.ReadAsync(orphanRow.CredentialName, default)).ShouldBeNull("the orphan is erased");
        orphanGrant.Revoked.ShouldBeTrue("its grant is revoked at the provider");
        (await Vault.ReadAsync(kept.CredentialName, default)).ShouldNotBeNull("a secret its link points at is left alone");
        keptGrant.Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task The_secret_a_busy_relink_left_is_erased_without_revoking_once_its_retry_linked_the_grant_and_a_refresh_rotated_it()
    {
        var (browser, link, _) = await LinkAcmeAsync();
        using var _ = browser;
        // The relink of a completion vaulted the new grant, found the link busy and gave up; the pending link was put
        // back, and its retry linked the same grant under another secret name.
        var grant = AcmeGrants.Issue(fixture, link.AccountId);
        var grantId = CredentialNames.GrantIdOfPending("busy-relink-" + link.AccountId);
        var atTheProvider = Grants.Authenticate(Realm, grant.Credential.AccessToken).ShouldNotBeNull();
        var left = await OrphanAsync(link, grant.Credential, grantId);
        await fixture.Broker<LinkWriter>().SaveAsync(link.UserId, "acme", grant, default, grantId);
        // A refresh rotates the grant: no token of the secret left behind is the link's any more.
        (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "acme", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        await using var instance = await BrokerInstance.StartAsync(fixture, null, ShortGrace);
        await Task.Delay(TimeSpan.FromSeconds(3));

        await CollectAsync(instance);

        (await Vault.ReadAsync(left, default)).ShouldBeNull("the secret left behind is erased");
        atTheProvider.Revoked.ShouldBeFalse("it holds the link's own grant: revoking its old refresh token would end it");
        (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "acme", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
    }

    [Fact]
    public async Task A_young_orphan_is_kept_even_where_the_instance_clock_runs_ahead()
    {
        var (browser, row, grant) = await LinkAcmeAsync();
        using var _ = browser;
        (await Links.DeleteAsync(row, default)).ShouldBeTrue();
        // Two hours ahead, past the one-hour grace by its own clock; the secret is seconds old by the servers' clocks.
        await using var ahead = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromHours(2)));

        await CollectAsync(ahead);

        (await Vault.ReadAsync(row.CredentialName, default)).ShouldNotBeNull("a callback may still be writing its row");
        grant.Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task An_orphan_holding_the_links_own_tokens_is_erased_without_revoking_them()
    {
        var (browser, link, grant) = await LinkAcmeAsync();
        using var _ = browser;
        // A provider handed the same grant back on re-link and the replaced secret could not be erased: its tokens are
        // the live link's, under another grant id.
        var current = await fixture.CredentialOfAsync(link.UserId, "acme", link.AccountId);
        var orphan = await OrphanAsync(link, current, "0123456789abcdef");
        await using var instance = await BrokerInstance.StartAsync(fixture, null, ShortGrace);
        await Task.Delay(TimeSpan.FromSeconds(3));

        await CollectAsync(instance);

        (await Vault.ReadAsync(orphan, default)).ShouldBeNull("the orphan is erased");
        grant.Revoked.ShouldBeFalse("revoking it would have ended the live link");
        (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "acme", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
    }

    public static TheoryData<string> Scopes => ["Grant", "UserAndClient"];

    [Theory]
    [MemberData(nameof(Scopes))]
    public async Task A_replaced_grant_left_by_a_relink_is_revoked_unless_revoking_reaches_every_grant_of_the_user(string scope)
    {
        var uid = scope == "Grant" ? 696969001 : 696969002;
        var (browser, first, oldGrant) = await LinkAcmeAsync(uid);
        using var _ = browser;
        // The re-link cannot revoke the replaced grant (the revocation endpoint is unavailable): its secret stays.
        fixture.SandboxFaults.Add(new Fault("/oidc/alpha/revoke", 503, "unavailable"));
        try
        {
            (await browser.LinkAsync(uid: uid, provider: "acme")).Query.ShouldContain("oauth_result=linked");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var relinked = (await Links.GetAsync(browser.User, "acme", first.AccountId, default))!;
        relinked.CredentialName.ShouldNotBe(first.CredentialName, "linked again under a fresh name");
        var newGrant = Grants.Authenticate(Realm, (await fixture.CredentialOfAsync(browser.User, "acme", first.AccountId)).AccessToken).ShouldNotBeNull();
        (await Vault.ReadAsync(first.CredentialName, default)).ShouldNotBeNull("left for the janitor");
        await using var instance = await BrokerInstance.StartAsync(fixture, null, [.. ShortGrace, $"--Providers:acme:RevocationScope={scope}"]);
        await Task.Delay(TimeSpan.FromSeconds(3));

        await CollectAsync(instance);

        (await Vault.ReadAsync(first.CredentialName, default)).ShouldBeNull("erased either way");
        oldGrant.Revoked.ShouldBe(scope == "Grant", "revoked only where that cannot reach the new grant");
        newGrant.Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task A_copy_made_for_a_link_from_before_grant_ids_carries_the_links_grant_and_is_not_revoked()
    {
        var (browser, link, grant) = await LinkAcmeAsync();
        using var _ = browser;
        // A link from before grant ids: neither the row nor its document names one.
        var pinned = (await Vault.ReadVersionAsync(link.CredentialName, link.CredentialVersion!, default))!;
        var untagged = await Vault.WriteAsync(link.CredentialName, pinned with { GrantId = null }, default);
        link = await Links.ReplaceAsync(link with { GrantId = null, CredentialVersion = untagged, CredentialVersions = 2 }, default);
        await using var copier = await BrokerInstance.StartAsync(fixture, null, [.. ShortGrace, "--Refresh:MaxCredentialVersions=3"]);
        var copies = CopyCount();

        // The copier moves the credential to a fresh name (a copy), and loses the row before it can say so.
        fixture.Environment.KeyVault.SlowWrites(new SlowWrite(TimeSpan.FromSeconds(1), CommitLate: false, Method: "PUT"));
        Task<RefreshOutcome> moving;
        try
        {
            moving = copier.Get<LinkRefresher>().RefreshAsync(link.UserId, "acme", link.AccountId, LinkRefresher.Mode.Force, default);
            for (var i = 0; i < 400 && CopyCount() == copies; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10));
            }

            var leased = (await Links.GetAsync(link.UserId, "acme", link.AccountId, default))!;
            await Links.ReplaceAsync(leased with { LeaseOwner = null, LeaseUntil = null, LastFailure = "changed_under_the_refresh" }, default);
        }
        finally
        {
            fixture.Environment.KeyVault.SlowWrites(null);
        }

        (await moving).ShouldBe(RefreshOutcome.LeaseLost);
        // Another refresher refreshes the link where it is; the copy is an orphan.
        (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "acme", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        await Task.Delay(TimeSpan.FromSeconds(3));

        await CollectAsync(copier);

        grant.Revoked.ShouldBeFalse("the copy held the link's own grant (an earlier token of it)");
        (await fixture.Broker<LinkRefresher>().RefreshAsync(link.UserId, "acme", link.AccountId, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        (await Links.GetAsync(link.UserId, "acme", link.AccountId, default))!.GrantId.ShouldBe(CredentialNames.GrantIdOfUntagged(link.CredentialName));
    }

    private int CopyCount() => fixture.Environment.KeyVault.Store.ActiveCount;
}
