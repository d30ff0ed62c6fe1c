using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using OAuthBroker.Links;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Providers.Http;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// Renewing a pending WhiteBIT link's pair while it waits for the key (refresh-token: "the pair is replaced on every
/// refresh") is a spend like any refresh: it keeps the refresher's rules, not weaker ones of its own.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingRenewalTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    [Theory]
    [InlineData(WriteFault.Forbidden)]
    [InlineData(WriteFault.ReadOnlyUnavailable)]
    public async Task A_vault_that_reads_but_does_not_write_costs_a_pending_link_no_refresh_token(WriteFault refusal)
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        var uid = 631000 + (int)refusal;
        await PendingKeyAsync(browser, uid);
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", row.AccountId);
        Keys.FinishKeyCreation(uid.ToString(System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow);
        var refreshes = new Fault("/whitebit/oauth2/refresh_token", 0, Times: 100);
        fixture.SandboxFaults.Add(refreshes);

        // A fresh instance six minutes on (the 300 s access token has expired) that has not written to the vault yet. It
        // runs every minute, so the next run can still renew (240 s left): the link waits for it. (A run that is the last
        // able to renew ends the flow instead: WhiteBitPendingRenewalRetryTests.)
        await using (var sweeper = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromMinutes(6)),
            [.. BrokerInstance.ShortBudget, .. EveryMinute, "--Refresh:LeaseDuration=00:00:20", "--KeyVault:MaxRetries=1", "--KeyVault:RetryAfterCap=00:00:02", "--Refresh:VaultBreakerDuration=00:00:03"]))
        {
            fixture.Environment.KeyVault.FailWrites(refusal);
            try
            {
                await sweeper.Get<RefreshSweep>().RunAsync(default);
            }
            finally
            {
                fixture.Environment.KeyVault.FailWrites(WriteFault.None);
                fixture.SandboxFaults.Clear();
                await fixture.Broker<IBrokerStateStore>().SetAsync(VaultWriteGate.StateKey, null, default);
            }
        }

        refreshes.Used.ShouldBe(0, "nothing is spent before a vault write has worked");
        var waiting = (await Store.GetAsync(browser.User, "whitebit", row.AccountId, default))!;
        waiting.Status.ShouldBe(LinkStatus.PendingKey);
        waiting.SpendingVersion.ShouldBeNull();
        (await fixture.CredentialOfAsync(browser.User, "whitebit", row.AccountId)).RefreshToken.ShouldBe(before.RefreshToken);

        // Writes work again: the held pair is renewed and the key linked.
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6)))
        {
            await fixture.Broker<ScheduledRun>().RunAsync(default);
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        (await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).RefreshToken.ShouldNotBe(before.RefreshToken);
    }

    [Fact]
    public async Task A_renewal_whose_request_never_left_spends_nothing_and_the_pending_link_is_retried()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();
        await PendingKeyAsync(browser, 632001);
        var row = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", row.AccountId);
        Keys.FinishKeyCreation("632001", DateTimeOffset.UtcNow);

        // The token endpoint refuses the connection: the request never left (RFC 9110 §9.2.2: nothing was applied). Runs
        // every minute: the next run can still renew, so the link waits for it.
        await using (var unreachable = await BrokerInstance.StartAsync(fixture, new ManualClock(TimeSpan.FromMinutes(6)),
            [.. BrokerInstance.ShortBudget, .. EveryMinute, $"--Providers:whitebit:ServerUrl=http://127.0.0.1:{ClosedPort()}/whitebit"]))
        {
            await unreachable.Get<RefreshSweep>().RunAsync(default);
        }

        var retried = (await Store.GetAsync(browser.User, "whitebit", row.AccountId, default))!;
        retried.Status.ShouldBe(LinkStatus.PendingKey, "nothing is in doubt");
        retried.SpendingVersion.ShouldBeNull();
        retried.LastFailure.ShouldBe(ProviderHttpClient.NotSentCode);
        retried.RefreshFailures.ShouldBe(1);

        // Reachable again: the same refresh token is spent, once, and the key linked.
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(8)))
        {
            await fixture.Broker<ScheduledRun>().RunAsync(default);
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.Status.ShouldBe(LinkStatus.Active);
        (await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).RefreshToken.ShouldNotBe(before.RefreshToken);
    }

    /// <summary>
    /// A run every minute with a 30 s sweep and 5 s of housekeeping: a run lasts 30 + 30 s (in-run retries) + one renewal
    /// + 5 s, and the in-process scheduler starts the next a minute after it; that run reaches the link within 30 s and its
    /// token reaches WhiteBIT within one spend, so the next run acts within 193 s at the first test's vault settings (a
    /// renewal there takes 23 s with its proof write, PendingRenewalHorizon): before a refresh token with 240 s left expires.
    /// </summary>
    private static readonly string[] EveryMinute = ["--Refresh:Schedule=0 * * * * *", "--Refresh:SweepBudget=00:00:30", "--Refresh:HousekeepingBudget=00:00:05"];

    private static async Task PendingKeyAsync(BrowserSession browser, long uid)
    {
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"), uid);
        using var landed = await browser.GetRawAsync(callback);
        landed.StatusCode.ShouldBe(HttpStatusCode.Found);
        var pending = browser.PendingReturn(landed).ShouldNotBeNull();
        using var completed = await browser.CompleteAsync(pending.Provider, pending.Code);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await completed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("result").GetString().ShouldBe("pending_key");
    }

    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
