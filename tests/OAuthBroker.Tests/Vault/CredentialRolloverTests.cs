using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Vault;

/// <summary>
/// No secret grows without bound: Key Vault cannot back up a secret with more than 500 versions, and single versions
/// cannot be deleted, so a credential moves to a fresh secret name before it gets there.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class CredentialRolloverTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task A_secret_past_the_version_threshold_moves_to_a_fresh_name_and_the_old_one_is_erased()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 686868001);
        var links = fixture.Broker<IAccountLinkStore>();
        var first = (await links.GetAsync(browser.User, "bybit", "686868001", default))!;
        await using var instance = await BrokerInstance.StartAsync(fixture, null, [.. BrokerInstance.ShortBudget, "--Refresh:MaxCredentialVersions=4"]);
        var refresher = instance.Get<LinkRefresher>();
        var names = new HashSet<string> { first.CredentialName };

        for (var i = 0; i < 6; i++)
        {
            (await refresher.RefreshAsync(browser.User, "bybit", "686868001", LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Refreshed);
            var row = (await links.GetAsync(browser.User, "bybit", "686868001", default))!;
            names.Add(row.CredentialName);
            fixture.Environment.KeyVault.VersionsOf(row.CredentialName).ShouldBeLessThanOrEqualTo(4, "no secret holds more versions than the threshold");
        }

        names.Count.ShouldBeGreaterThan(1, "the credential moved to a fresh secret");
        var current = (await links.GetAsync(browser.User, "bybit", "686868001", default))!;
        foreach (var old in names.Where(n => n != current.CredentialName))
        {
            (await fixture.Broker<ICredentialVault>().ReadAsync(old, default)).ShouldBeNull("a secret no link points at is erased");
        }

        var credential = await fixture.CredentialOfAsync(browser.User, "bybit", "686868001");
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[credential.RefreshToken!]];
        grant.CurrentRefreshToken.ShouldBe(credential.RefreshToken, "the fresh secret holds the live token");
        grant.Revoked.ShouldBeFalse();
        current.GrantId.ShouldBe(first.GrantId, "the same grant, under another name");
    }
}
