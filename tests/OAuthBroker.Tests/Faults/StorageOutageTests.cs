using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.Errors;
using OAuthBroker.Links;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Faults;

/// <summary>
/// Table storage goes away in the middle of a refresh, after the provider rotated the refresh token and before the
/// link row is updated, and comes back: because the new credential is vaulted before anything else, nothing is lost.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class StorageOutageTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task Storage_lost_mid_refresh_and_restored_loses_no_token_and_no_link()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 818181818);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "818181818");

        await using var proxy = new TcpProxy(fixture.Environment.Azurite.Port);
        var viaProxy = fixture.Environment.Azurite.ConnectionString.Replace($":{fixture.Environment.Azurite.Port}/", $":{proxy.Port}/", StringComparison.Ordinal);
        var instance = await fixture.Environment.StartBrokerInstanceAsync(FreePort.Next(), [$"--Storage:ConnectionString={viaProxy}", .. BrokerInstance.ShortBudget, "--Refresh:RefreshCallTimeout=00:00:04", "--Refresh:LeaseDuration=00:00:14"]);
        try
        {
            fixture.SandboxFaults.Add(new Fault("/bybit/oauth/v1/public/refresh_token", 0, Delay: TimeSpan.FromSeconds(2)));
            var refresh = instance.Services.GetRequiredService<LinkRefresher>().RefreshAsync(browser.User, "bybit", "818181818", LinkRefresher.Mode.Force, default);
            await Task.Delay(TimeSpan.FromSeconds(1));
            proxy.Stop(); // the provider answers (rotating the token) while storage is gone

            await Should.ThrowAsync<StorageUnavailableException>(() => refresh);
        }
        finally
        {
            await instance.StopAsync();
            await instance.DisposeAsync();
            fixture.SandboxFaults.Clear();
        }

        // The rotated credential reached the vault first; only the row is behind.
        var vaulted = await fixture.CredentialOfAsync(browser.User, "bybit", "818181818");
        vaulted.RefreshToken.ShouldNotBe(before.RefreshToken);
        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", "818181818", default))!;
        row.Status.ShouldBe(LinkStatus.Active);
        row.LastRefreshAt.ShouldBeNull();

        // Storage is back; once the lease lapses (on the storage service's clock), the next refresher finds the result of
        // the spend in the vault (a newer version than the one recorded as being spent) and spends that, the newest token.
        proxy.Start();
        row.SpendingVersion.ShouldNotBeNull();
        var outcome = RefreshOutcome.Busy;
        for (var i = 0; i < 40 && outcome == RefreshOutcome.Busy; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            outcome = await fixture.Broker<LinkRefresher>().RefreshAsync(browser.User, "bybit", "818181818", LinkRefresher.Mode.Force, default);
        }

        outcome.ShouldBe(RefreshOutcome.Refreshed);

        var after = await fixture.CredentialOfAsync(browser.User, "bybit", "818181818");
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[after.RefreshToken!]];
        grant.Revoked.ShouldBeFalse("no superseded refresh token was spent");
        grant.CurrentRefreshToken.ShouldBe(after.RefreshToken);
        (await browser.LinksAsync()).Single().Status.ShouldBe(LinkStatus.Active);
    }
}
