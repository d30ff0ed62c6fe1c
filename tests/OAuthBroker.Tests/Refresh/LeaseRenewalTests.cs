using OAuthBroker.Links;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Tests.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The renewal right before the spend (the lease for the whole spend plus the spend marker, one compare-and-swap) is a
/// storage call like any other: its answer can be lost after it committed, or come late. Neither may cost the link: a
/// committed renewal is recognised, and a spend starts only with a whole spend's budget left on the lease.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class LeaseRenewalTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>The PUT that renews the lease and sets the marker is the first whose body names <c>SpendStartedAt</c>.</summary>
    private const string SpendMarker = "\"SpendStartedAt\"";

    private BybitSandboxState.Grant GrantOf(string refreshToken) =>
        fixture.Sandbox<BybitSandboxState>().Grants[fixture.Sandbox<BybitSandboxState>().RefreshTokens[refreshToken]];

    private async Task<BrokerInstance> BehindAsync(StorageAnswerProxy proxy, params string[] settings)
    {
        var azurite = fixture.Environment.Azurite;
        return await BrokerInstance.StartAsync(fixture, null,
            [$"--Storage:ConnectionString={proxy.ConnectionStringFor(azurite.ConnectionString, azurite.Port)}", .. BrokerInstance.ShortBudget, .. settings]);
    }

    private static Task<RefreshOutcome> ForceAsync(LinkRefresher refresher, BrowserSession browser, string accountId) =>
        refresher.RefreshAsync(browser.User, "bybit", accountId, LinkRefresher.Mode.Force, default);

    private async Task<AccountLink> RowAsync(BrowserSession browser, string accountId) =>
        (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", accountId, default))!;

    /// <summary>
    /// Holder A (behind <paramref name="proxy"/>) renews its lease and sets the spend marker; the renewal commits, and A
    /// does not run on until the test releases the held answer.
    /// </summary>
    private static async Task<(StorageAnswerProxy.HeldAnswer Renewal, Task<RefreshOutcome> HolderA)> StallAfterRenewalAsync(
        StorageAnswerProxy proxy, BrokerInstance stalled, BrowserSession browser, string accountId)
    {
        var renewal = proxy.ArmHold("PUT", SpendMarker);
        var holderA = ForceAsync(stalled.Get<LinkRefresher>(), browser, accountId);
        await renewal.Committed.WaitAsync(TimeSpan.FromMinutes(1));
        return (renewal, holderA);
    }

    [Fact]
    public async Task A_renewal_that_committed_but_lost_its_answer_is_recognised_and_the_spend_goes_ahead()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 939393001);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "939393001");
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        await using var instance = await BehindAsync(proxy);

        // Azurite commits the renewal; its answer is cut off; the Table client retries and gets 412 (its own change).
        proxy.Arm("PUT", SpendMarker, delay: null);
        (await ForceAsync(instance.Get<LinkRefresher>(), browser, "939393001"))
            .ShouldBe(RefreshOutcome.Refreshed);

        proxy.Triggered.ShouldBe(1, "the renewal's answer was lost");
        var grant = GrantOf(before.RefreshToken!);
        grant.RefreshCount.ShouldBe(1);
        grant.Revoked.ShouldBeFalse();
        var row = await RowAsync(browser, "939393001");
        row.SpendingVersion.ShouldBeNull();
        row.LeaseOwner.ShouldBeNull();
        (await fixture.CredentialOfAsync(browser.User, "bybit", "939393001")).RefreshToken.ShouldBe(grant.CurrentRefreshToken);
    }

    [Fact]
    public async Task A_renewal_that_took_most_of_the_lease_spends_nothing_and_leaves_no_marker()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 939393002);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "939393002");
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        await using var instance = await BehindAsync(proxy);

        // The renewal's answer comes after 7 s of a 10 s lease: less is left than a spend (4 s) and its write (2 s) may take.
        proxy.Arm("PUT", SpendMarker, TimeSpan.FromSeconds(7));
        (await ForceAsync(instance.Get<LinkRefresher>(), browser, "939393002"))
            .ShouldBe(RefreshOutcome.Deferred);

        proxy.Triggered.ShouldBe(1);
        GrantOf(before.RefreshToken!).RefreshCount.ShouldBe(0, "nothing was sent");
        var row = await RowAsync(browser, "939393002");
        row.SpendingVersion.ShouldBeNull("nothing is in doubt");
        row.LeaseOwner.ShouldBeNull();
        row.LastFailure.ShouldBe("refresh_lease_too_short");
        row.Status.ShouldBe(LinkStatus.Active);
    }

    [Fact]
    public async Task A_holder_that_stalled_past_its_lease_without_sending_takes_back_the_unknown_outcome_left_for_its_spend()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 939393004);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "939393004");
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        await using var stalled = await BehindAsync(proxy);

        var (renewal, holderA) = await StallAfterRenewalAsync(proxy, stalled, browser, "939393004");
        var marked = await RowAsync(browser, "939393004");
        marked.SpendingVersion.ShouldNotBeNull("A's marker is on the row");

        // Instance B finds the lease lapsed with the marker in place: the outcome is unknown to it.
        var other = fixture.Broker<LinkRefresher>();
        RefreshOutcome seen;
        while ((seen = await ForceAsync(other, browser, "939393004")) == RefreshOutcome.Busy)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }

        seen.ShouldBe(RefreshOutcome.OutcomeUnknown);
        var unknown = await RowAsync(browser, "939393004");
        unknown.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
        unknown.SpendingVersion.ShouldBe(marked.SpendingVersion);

        // A runs on: its lease has run out, so it sends nothing, and takes back the marker its own attempt left.
        renewal.Release();
        (await holderA).ShouldBe(RefreshOutcome.Deferred);
        GrantOf(before.RefreshToken!).RefreshCount.ShouldBe(0, "nothing was sent");
        var row = await RowAsync(browser, "939393004");
        row.SpendingVersion.ShouldBeNull("the token was never sent");
        row.Status.ShouldBe(LinkStatus.Active);
        row.LastFailure.ShouldBe("refresh_lease_too_short");
        row.LeaseOwner.ShouldBeNull();

        // The unspent token refreshes the link.
        (await ForceAsync(other, browser, "939393004")).ShouldBe(RefreshOutcome.Refreshed);
        var grant = GrantOf(before.RefreshToken!);
        grant.RefreshCount.ShouldBe(1);
        grant.Revoked.ShouldBeFalse();
    }

    [Fact]
    public async Task A_holder_that_stalled_past_its_lease_leaves_a_marker_alone_once_another_attempt_has_replaced_it()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 939393005);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "939393005");
        await using var proxy = new StorageAnswerProxy(fixture.Environment.Azurite.Port);
        await using var stalled = await BehindAsync(proxy);

        var (renewal, holderA) = await StallAfterRenewalAsync(proxy, stalled, browser, "939393005");
        var store = fixture.Broker<IAccountLinkStore>();
        var marked = (await store.GetAsync(browser.User, "bybit", "939393005", default))!;

        // Meanwhile the same version is marked by another attempt (another moment): A cannot tell whether that one sent it.
        var leases = fixture.Broker<LinkLeases>();
        while (leases.HeldByOther((await store.GetAsync(browser.User, "bybit", "939393005", default))!, "test"))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }

        var current = (await store.GetAsync(browser.User, "bybit", "939393005", default))!;
        await store.ReplaceAsync(current with { LeaseOwner = null, LeaseUntil = null, SpendStartedAt = marked.SpendStartedAt!.Value.AddSeconds(1), LastFailure = LinkRefresher.OutcomeUnknownCode }, default);

        renewal.Release();
        (await holderA).ShouldBe(RefreshOutcome.LeaseLost);
        GrantOf(before.RefreshToken!).RefreshCount.ShouldBe(0);
        var row = (await store.GetAsync(browser.User, "bybit", "939393005", default))!;
        row.SpendingVersion.ShouldBe(marked.SpendingVersion, "another attempt's marker stays");
        row.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
    }

    [Fact]
    public async Task A_slow_delete_of_the_old_secret_after_a_rollover_does_not_eat_into_the_spend()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 939393003);
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", "939393003");
        // The vault client as deployed (10 s a call, two retries): a delete can take as long as a lease allows a whole spend.
        await using var instance = await BrokerInstance.StartAsync(fixture, null,
            ["--Refresh:LeaseDuration=00:00:50", "--Refresh:RefreshCallTimeout=00:00:02", "--Refresh:PacingMaxWait=00:00:01", "--Refresh:ClockAllowance=00:00:02", "--Refresh:MaxCredentialVersions=3"]);
        var refresher = instance.Get<LinkRefresher>();
        (await ForceAsync(refresher, browser, "939393003")).ShouldBe(RefreshOutcome.Refreshed);
        var old = await RowAsync(browser, "939393003");

        // The next refresh moves the credential to a fresh secret; deleting and purging the old one take 8 s each, more
        // than the lease has to spare once the spend's budget (4 s) and its write's (38 s) are set aside.
        fixture.Environment.KeyVault.SlowWrites(new SlowWrite(TimeSpan.FromSeconds(8), CommitLate: true, Method: "DELETE"));
        try
        {
            (await ForceAsync(refresher, browser, "939393003")).ShouldBe(RefreshOutcome.Refreshed);
        }
        finally
        {
            fixture.Environment.KeyVault.SlowWrites(null);
        }

        var row = await RowAsync(browser, "939393003");
        row.CredentialName.ShouldNotBe(old.CredentialName);
        row.SpendingVersion.ShouldBeNull();
        (await fixture.Broker<OAuthBroker.Credentials.ICredentialVault>().ReadAsync(old.CredentialName, default)).ShouldBeNull("the old secret is erased after the spend");
        var grant = GrantOf(before.RefreshToken!);
        grant.RefreshCount.ShouldBe(2);
        grant.Revoked.ShouldBeFalse();
    }
}
