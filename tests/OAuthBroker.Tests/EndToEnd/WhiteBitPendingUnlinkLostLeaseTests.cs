using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Storage.Links;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// An unlink that loses its hold on the link (its lease) before it can finish, because storage stops taking the lease's
/// renewals while WhiteBIT keeps the deletion of the flow's key waiting (423 "Temporary lock, retry shortly", the API-key
/// endpoints' error table, fast-api-key-integration): the user is told what happened at the provider, that nothing was
/// erased, and that a retry finishes the unlink, not that a refresh holds the link. Sandbox, Azurite and the local vault.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitPendingUnlinkLostLeaseTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    [Fact]
    public async Task An_unlink_whose_lease_renewals_hang_past_the_deadline_answers_unlink_interrupted_erases_nothing_and_a_retry_finishes_it()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();
        var (pending, flowsKey) = await KeyFoundAsync(browser, 698001);

        // 10 s leases (BrokerInstance.ShortBudget, clock allowance 2 s, renewed every 3.3 s); the deletion of the flow's key
        // meets 423 twice and waits 5 s, then 10 s. Once the deletion has started, the unlinking instance's storage stops
        // answering for one lease renewal: the write never arrives, and the client would give up only 40 s later.
        var locked = new Fault("/whitebit/oauth2/api-key/", 423, """{"data":{"message":["Temporary lock, retry shortly."]}}""", "application/json", Times: 2) { PathSuffix = flowsKey.Key };
        var hanging = new HangingRenewalStore(browser.User, () => locked.Used > 0, TimeSpan.FromSeconds(40));
        await using var unlinking = await BrokerInstance.StartAsync(fixture, null,
            services => services.Replace(ServiceDescriptor.Singleton<IAccountLinkStore>(sp => hanging.Over(sp.GetRequiredService<TableAccountLinkStore>()))),
        [
            .. BrokerInstance.ShortBudget,
            "--Providers:whitebit:LockedInitialBackoff=00:00:05",
            "--Providers:whitebit:LockedMaxBackoff=00:00:10",
            "--Providers:whitebit:KeyDeletionLockedTotalWait=00:01:00",
        ]);
        fixture.SandboxFaults.Add(locked);
        HttpResponseMessage answer;
        try
        {
            answer = await browser.Http.DeleteAsync(new Uri(unlinking.Uri, $"api/links/whitebit/{Uri.EscapeDataString(pending.AccountId)}"));
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        using (answer)
        {
            var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
            hanging.Hung.ShouldBeTrue("a lease renewal hung during the deletion");
            answer.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, body.ToString());
            body.GetProperty("type").GetString().ShouldBe("urn:oauth-broker:problem:unlink-interrupted");
            body.GetProperty("code").GetString().ShouldBe("unlink_interrupted");
            var detail = body.GetProperty("detail").GetString().ShouldNotBeNull();
            detail.ShouldContain("whether the provider revoked the access is unknown");
            detail.ShouldContain("nothing was erased at the broker");
            detail.ShouldContain("Retry the unlink");
            detail.ShouldNotContain("refresh", Case.Insensitive);
            answer.Headers.RetryAfter.ShouldNotBeNull().Delta.ShouldNotBeNull().ShouldBeGreaterThan(TimeSpan.Zero);
        }

        flowsKey.Value.Deleted.ShouldBeFalse("the deletion stopped at the lease's deadline");
        var kept = (await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default)).ShouldNotBeNull("nothing was erased: the link is still there");
        kept.Status.ShouldBe(LinkStatus.PendingKey);
        (await fixture.Broker<ICredentialVault>().ReadCurrentAsync(kept, default)).ShouldNotBeNull("nothing was erased: the credential is still readable");

        // The retry (storage answers again, the lock is gone) waits out the lapsed lease, deletes the key and finishes.
        using var retried = await browser.UnlinkAsync("whitebit", pending.AccountId);
        var finished = await retried.Content.ReadFromJsonAsync<JsonElement>();
        retried.StatusCode.ShouldBe(HttpStatusCode.OK, finished.ToString());
        finished.GetProperty("revocation").GetString().ShouldBe("revoked");
        flowsKey.Value.Deleted.ShouldBeTrue();
        (await Store.ListAsync(browser.User, default)).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_unlink_whose_lease_another_writer_takes_during_the_deletion_answers_unlink_overtaken_erases_nothing_and_a_retry_finishes_it()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.MaxValue; o.SecretLockedFor = TimeSpan.FromHours(1); });
        using var browser = fixture.NewBrowser();
        var (pending, flowsKey) = await KeyFoundAsync(browser, 699001);

        // As above, but storage answers: another writer takes the link's lease while the deletion waits out the 423.
        var locked = new Fault("/whitebit/oauth2/api-key/", 423, """{"data":{"message":["Temporary lock, retry shortly."]}}""", "application/json", Times: 2) { PathSuffix = flowsKey.Key };
        await using var unlinking = await BrokerInstance.StartAsync(fixture, null,
        [
            .. BrokerInstance.ShortBudget,
            "--Providers:whitebit:LockedInitialBackoff=00:00:05",
            "--Providers:whitebit:LockedMaxBackoff=00:00:10",
            "--Providers:whitebit:KeyDeletionLockedTotalWait=00:01:00",
        ]);
        fixture.SandboxFaults.Add(locked);
        HttpResponseMessage answer;
        var taken = false;
        try
        {
            var deleting = browser.Http.DeleteAsync(new Uri(unlinking.Uri, $"api/links/whitebit/{Uri.EscapeDataString(pending.AccountId)}"));
            while (!deleting.IsCompleted)
            {
                await Task.WhenAny(deleting, Task.Delay(TimeSpan.FromMilliseconds(200)));
                if (!taken && !deleting.IsCompleted && locked.Used > 0)
                {
                    var current = (await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default)).ShouldNotBeNull();
                    await Store.ReplaceAsync(current with { LeaseOwner = "another-writer", LeaseUntil = fixture.Broker<LinkLeases>().Now + TimeSpan.FromSeconds(2) }, default);
                    taken = true;
                }
            }

            answer = await deleting;
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        using (answer)
        {
            var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
            taken.ShouldBeTrue("another writer took the lease during the deletion");
            answer.StatusCode.ShouldBe(HttpStatusCode.Conflict, body.ToString());
            body.GetProperty("type").GetString().ShouldBe("urn:oauth-broker:problem:unlink-overtaken");
            var detail = body.GetProperty("detail").GetString().ShouldNotBeNull();
            detail.ShouldContain("whether the provider revoked the access is unknown");
            detail.ShouldContain("nothing was erased at the broker");
            detail.ShouldContain("Retry the unlink");
        }

        flowsKey.Value.Deleted.ShouldBeFalse("the deletion stopped when the lease was lost");
        var kept = (await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default)).ShouldNotBeNull("nothing was erased: the link is still there");
        (await fixture.Broker<ICredentialVault>().ReadCurrentAsync(kept, default)).ShouldNotBeNull("nothing was erased: the credential is still readable");

        using var retried = await browser.UnlinkAsync("whitebit", pending.AccountId);
        var finished = await retried.Content.ReadFromJsonAsync<JsonElement>();
        retried.StatusCode.ShouldBe(HttpStatusCode.OK, finished.ToString());
        finished.GetProperty("revocation").GetString().ShouldBe("revoked");
        flowsKey.Value.Deleted.ShouldBeTrue();
        (await Store.ListAsync(browser.User, default)).ShouldBeEmpty();
    }

    /// <summary>Start, consent, callback, completion (pending_key), the user's key created, and a look that finds it with its secret locked.</summary>
    private async Task<(AccountLink Pending, KeyValuePair<string, WhiteBitSandboxEndpoints.State.Key> FlowsKey)> KeyFoundAsync(BrowserSession browser, long uid)
    {
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"), uid);
        using (var landed = await browser.GetRawAsync(callback))
        {
            var started = browser.PendingReturn(landed).ShouldNotBeNull();
            using var completed = await browser.CompleteAsync(started.Provider, started.Code);
            completed.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var account = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Keys.FinishKeyCreation(account, DateTimeOffset.UtcNow).ShouldBe(1);
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync((await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem(), default)).ShouldBe(RefreshOutcome.Deferred);
        var pending = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        return (pending, Keys.KeysById.Where(k => k.Value.Account == account).ShouldHaveSingleItem());
    }
}
