using Azure.Security.KeyVault.Secrets;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// What the vault calls its latest version is not always the newest credential: a write can commit late (an attempt of
/// an older document the client had given up on, retried by Azure.Core while the first was still pending), and a vault
/// allow-listed for higher throughput shows writes only "within 60 seconds" (Key Vault throttling guidance). A refresher
/// spends exactly the version its row names, and a spend in doubt is resolved only by its own result, so an older
/// refresh token never reaches the provider. Against Bybit's sandbox, which revokes the whole grant when one does.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class StaleVaultVersionTests(BrokerEnvironmentFixture fixture)
{
    private const string RefreshPath = "/bybit/oauth/v1/public/refresh_token";

    private IAccountLinkStore Links => fixture.Broker<IAccountLinkStore>();

    private BybitSandboxState.Grant GrantOf(string refreshToken) =>
        fixture.Sandbox<BybitSandboxState>().Grants[fixture.Sandbox<BybitSandboxState>().RefreshTokens[refreshToken]];

    /// <summary>Writes the document of an earlier version again, as a late-committing write of it would.</summary>
    private async Task CommitLateAsync(string name, KeyVaultSecret earlier)
    {
        var stale = new KeyVaultSecret(name, earlier.Value);
        stale.Properties.ContentType = earlier.Properties.ContentType;
        foreach (var (tag, value) in earlier.Properties.Tags)
        {
            stale.Properties.Tags[tag] = value;
        }

        await fixture.SecretClient.SetSecretAsync(stale);
    }

    [Fact]
    public async Task An_older_version_committed_late_is_never_spent()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 919191001);
        var first = (await Links.GetAsync(browser.User, "bybit", "919191001", default))!;
        var v1 = (await fixture.SecretClient.GetSecretAsync(first.CredentialName)).Value;
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "919191001");
        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191001", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);

        await CommitLateAsync(first.CredentialName, v1);

        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191001", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        var grant = GrantOf(before.RefreshToken!);
        grant.Revoked.ShouldBeFalse("the superseded token was not sent again");
        grant.RefreshCount.ShouldBe(2);
        var row = (await Links.GetAsync(browser.User, "bybit", "919191001", default))!;
        var vaulted = await fixture.Broker<OAuthBroker.Credentials.ICredentialVault>().ReadVersionAsync(row.CredentialName, row.CredentialVersion!, default);
        vaulted!.Credential.RefreshToken.ShouldBe(grant.CurrentRefreshToken, "the row names the version with the grant's live token");
    }

    [Fact]
    public async Task A_spend_in_doubt_is_not_resolved_by_an_older_version_committed_late()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 919191002);
        var first = (await Links.GetAsync(browser.User, "bybit", "919191002", default))!;
        var v1 = (await fixture.SecretClient.GetSecretAsync(first.CredentialName)).Value;
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "919191002");
        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191002", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);

        // The next spend's answer is lost after the provider rotated (a gateway's 502): its outcome is unknown.
        fixture.SandboxFaults.Add(new Fault(RefreshPath, 502, "bad gateway") { Phase = FaultPhase.AfterHandler, Delivery = FaultDelivery.Replace });
        try
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191002", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.OutcomeUnknown);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        // Then an older document lands as the vault's latest version: not the spend's result.
        await CommitLateAsync(first.CredentialName, v1);

        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191002", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.OutcomeUnknown);
        var grant = GrantOf(before.RefreshToken!);
        grant.Revoked.ShouldBeFalse("neither the token in doubt nor an older one was sent");
        grant.RefreshCount.ShouldBe(2);
        (await Links.GetAsync(browser.User, "bybit", "919191002", default))!.SpendingVersion.ShouldNotBeNull();
    }

    [Fact]
    public async Task A_read_lagging_the_newest_write_never_spends_the_token_it_superseded()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 919191003);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "919191003");
        await Task.Delay(TimeSpan.FromSeconds(5));
        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191003", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);

        // A vault allow-listed for higher throughput: the write just made is not visible yet; the one before it is.
        fixture.Environment.KeyVault.Store.ReadLag = TimeSpan.FromSeconds(4);
        try
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191003", LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.Deferred, "the version the row names is not visible yet: nothing is spent");
        }
        finally
        {
            fixture.Environment.KeyVault.Store.ReadLag = TimeSpan.Zero;
        }

        var grant = GrantOf(before.RefreshToken!);
        grant.Revoked.ShouldBeFalse("the token the lagging read showed was not sent");
        grant.RefreshCount.ShouldBe(1);
        var row = (await Links.GetAsync(browser.User, "bybit", "919191003", default))!;
        row.SpendingVersion.ShouldBeNull();
        row.LastFailure.ShouldBe("credential_version_not_visible");

        // Once the write is visible, the newest token is spent.
        (await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "919191003", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
        grant.RefreshCount.ShouldBe(2);
        grant.Revoked.ShouldBeFalse();
    }
}
