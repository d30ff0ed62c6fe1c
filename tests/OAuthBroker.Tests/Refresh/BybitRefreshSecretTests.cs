using OAuthBroker.Links;
using OAuthBroker.Providers.Bybit;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// Whether a broker's refresh carries client_secret is undocumented (modules/oauth.md shows only the public client, which
/// sends none), so the sandbox answers either way and the broker is configured for one reading. Against the other
/// reading the refresh token is sent exactly once: 10003 opens the provider's breaker, and nothing is sent again to
/// find out which reading Bybit wants (no document says 10003 leaves the token unspent).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class BybitRefreshSecretTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>Bybit's reading, the broker's (null: not configured, the default), and the account.</summary>
    public static TheoryData<SecretOnRefresh, BybitRefreshSecret?, long> Readings => new()
    {
        { SecretOnRefresh.Required, null, 959595000 },
        { SecretOnRefresh.Forbidden, null, 959595005 },
        { SecretOnRefresh.Required, BybitRefreshSecret.Send, 959595001 },
        { SecretOnRefresh.Forbidden, BybitRefreshSecret.Omit, 959595002 },
        { SecretOnRefresh.Forbidden, BybitRefreshSecret.Send, 959595003 },
        { SecretOnRefresh.Required, BybitRefreshSecret.Omit, 959595004 },
    };

    [Theory]
    [MemberData(nameof(Readings))]
    public async Task The_refresh_token_is_sent_once_in_the_configured_reading_and_a_refused_client_opens_the_breaker(
        SecretOnRefresh bybitWants, BybitRefreshSecret? brokerSends, long uid)
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: uid);
        var account = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", account);
        await using var instance = await BrokerInstance.StartAsync(fixture, null,
            brokerSends is { } reading ? [$"--Providers:bybit:RefreshClientSecret={reading}"] : []);
        var agree = (bybitWants == SecretOnRefresh.Required) == (brokerSends is null or BybitRefreshSecret.Send);

        // Counts the refresh calls that reach Bybit, and changes nothing about them.
        var sent = new Fault("/bybit/oauth/v1/public/refresh_token", 0, Times: 10);
        fixture.SandboxFaults.Add(sent);
        RefreshOutcome outcome;
        using (SandboxSwitch.Set(fixture.SandboxOptions.Bybit, o => o.RefreshClientSecret = bybitWants))
        {
            try
            {
                outcome = await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default);
            }
            finally
            {
                fixture.SandboxFaults.Clear();
            }
        }

        sent.Used.ShouldBe(1, "the refresh token is sent once");
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
        grant.Revoked.ShouldBeFalse();
        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
        row.Status.ShouldBe(LinkStatus.Active);
        row.SpendingVersion.ShouldBeNull();
        if (agree)
        {
            outcome.ShouldBe(RefreshOutcome.Refreshed);
            grant.RefreshCount.ShouldBe(1);
        }
        else
        {
            outcome.ShouldBe(RefreshOutcome.ProviderMisconfigured, "10003: the operator chooses the other reading");
            instance.Get<ProviderBreaker>().IsOpen("bybit").ShouldBeTrue();
            grant.RefreshCount.ShouldBe(0);
            row.LastFailure.ShouldBe("10003");
        }
    }
}
