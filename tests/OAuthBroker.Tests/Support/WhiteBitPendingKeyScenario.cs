using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Sandbox;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// What a test of a pending WhiteBIT link on the shared environment needs: a callback that ends in a
/// <c>pending_key</c> link, the broker's and WhiteBIT's clocks moved together (so WhiteBIT itself refuses a token past
/// its life), and the scheduled run at a chosen time. Disposing puts both clocks back and clears what the test left at
/// the sandbox (faults, WhiteBIT's 1 request/s window), so the next test on the environment starts where this one did.
/// </summary>
public abstract class WhiteBitPendingKeyScenario(BrokerEnvironmentFixture fixture) : IDisposable
{
    private TimeSpan _advanced;

    protected BrokerEnvironmentFixture Fixture { get; } = fixture;

    protected WhiteBitSandboxOptions WhiteBit => Fixture.SandboxOptions.WhiteBit;

    protected WhiteBitSandboxEndpoints.State Keys => Fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    /// <summary>
    /// The newest reading's tokens (300 s access token, 600 s refresh token) and a key that appears only when the test
    /// has the user finish creating it (<see cref="WhiteBitSandboxEndpoints.State.FinishKeyCreation"/>).
    /// </summary>
    protected IDisposable ShortLivedTokensAndAKeyOnCue() =>
        SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; });

    /// <summary>Start, consent as <paramref name="account"/>, land on the callback and confirm: the result is a pending_key link.</summary>
    protected static async Task PendingKeyAsync(BrowserSession browser, string account)
    {
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"), long.Parse(account, CultureInfo.InvariantCulture));
        using var landed = await browser.GetRawAsync(callback);
        landed.StatusCode.ShouldBe(HttpStatusCode.Found);
        var pending = browser.PendingReturn(landed).ShouldNotBeNull();
        using var completed = await browser.CompleteAsync(pending.Provider, pending.Code);
        completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetString().ShouldBe("pending_key");
    }

    /// <summary>Broker and WhiteBIT <paramref name="later"/> on, then the scheduled run (refresh sweep and housekeeping).</summary>
    protected async Task RunAtAsync(TimeSpan later)
    {
        Advance(later);
        await Fixture.Broker<ScheduledRun>().RunAsync(default);
    }

    /// <summary>Broker and WhiteBIT <paramref name="by"/> on, nothing run.</summary>
    protected void Advance(TimeSpan by)
    {
        Fixture.BrokerClock.Advance(by);
        Fixture.SandboxClock.Advance(by);
        _advanced += by;
    }

    /// <summary>
    /// Both clocks go back; WhiteBIT's 1 request/s window forgets the refreshes it saw at the later time (they would
    /// otherwise lie in the future of every later test's refresh).
    /// </summary>
    public void Dispose()
    {
        Fixture.SandboxFaults.Clear();
        Fixture.BrokerClock.Advance(-_advanced);
        Fixture.SandboxClock.Advance(-_advanced);
        Keys.LastRefreshByAddress.Clear();
        GC.SuppressFinalize(this);
    }
}
