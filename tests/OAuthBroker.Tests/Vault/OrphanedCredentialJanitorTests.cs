using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Sandbox.Pages;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Vault;

/// <summary>
/// A secret no link points at (a callback that vaulted its grant and never wrote the row: a closed pop-up, a crash,
/// a storage failure) holds a live grant. The janitor, which runs after every scheduled sweep, revokes it and erases it.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OrphanedCredentialJanitorTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task A_secret_whose_row_was_never_written_is_revoked_and_erased_and_a_linked_one_is_left_alone()
    {
        using var orphanOwner = fixture.NewBrowser();
        await orphanOwner.LinkAsync(provider: "acme");
        var orphanAccount = (await orphanOwner.LinksAsync()).Single().AccountId;
        var links = fixture.Broker<IAccountLinkStore>();
        var orphanRow = (await links.GetAsync(orphanOwner.User, "acme", orphanAccount, default))!;
        var orphanCredential = await fixture.CredentialOfAsync(orphanOwner.User, "acme", orphanAccount);
        // As if the callback had stopped after vaulting the grant: the secret exists, no row points at it.
        (await links.DeleteAsync(orphanRow, default)).ShouldBeTrue();
        if (orphanRow.DueKey is { } key)
        {
            await fixture.Broker<OAuthBroker.Refresh.IRefreshSchedule>().RemoveAsync(key, default);
        }

        using var keeper = fixture.NewBrowser();
        await keeper.LinkAsync(provider: "acme");
        var kept = (await links.GetAsync(keeper.User, "acme", (await keeper.LinksAsync()).Single().AccountId, default))!;

        ScheduledRunReport report;
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(2)))
        {
            report = await fixture.Broker<ScheduledRun>().RunAsync(default);
        }

        report.Housekeeping.GetValueOrDefault("orphaned-credentials").ShouldBeGreaterThanOrEqualTo(1);
        var vault = fixture.Broker<ICredentialVault>();
        (await vault.ReadAsync(orphanRow.CredentialName, default)).ShouldBeNull("the orphan is erased");
        fixture.Sandbox<StandardGrants>().IsRevoked(orphanCredential.AccessToken).ShouldBeTrue("its grant is revoked at the provider");
        (await vault.ReadAsync(kept.CredentialName, default)).ShouldNotBeNull("a secret its link points at is left alone");
    }
}
