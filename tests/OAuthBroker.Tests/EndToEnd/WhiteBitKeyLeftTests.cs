using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// When a pending WhiteBIT flow ends, <c>key_left_at_whitebit</c> tells the user to delete a key at WhiteBIT. WhiteBIT keeps
/// one active key per user and partner (fast-api-key-integration, Limits: "A second creation attempt returns an error and
/// the consent flow terminates"), so for a user with another WhiteBIT link the key there is that link's: the reason is
/// given only when a key of this flow may really be left, and never names the key a working link uses.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WhiteBitKeyLeftTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    private IAccountLinkStore Store => fixture.Broker<IAccountLinkStore>();

    /// <summary>How far past the flow's start it ends: past Broker:PendingKeyLifetime (20 min) with the 4-hour access token alive, or past it too.</summary>
    public enum TokenAtTheEnd
    {
        Live,
        Expired,
    }

    [Theory]
    [InlineData(TokenAtTheEnd.Live)]
    [InlineData(TokenAtTheEnd.Expired)]
    public async Task A_flow_that_never_saw_the_key_list_does_not_tell_a_user_with_another_whitebit_link_to_delete_its_key(TokenAtTheEnd token)
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        var uid = 642000 + (int)token;
        var (linked, again) = await LinkedBesideBlindFlowAsync(browser, uid);

        using (fixture.BrokerClock.AdvanceFor(token == TokenAtTheEnd.Live ? TimeSpan.FromMinutes(21) : TimeSpan.FromHours(5)))
        {
            (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(again, default)).ShouldBe(RefreshOutcome.ReauthRequired);
        }

        var ended = (await Store.GetAsync(browser.User, "whitebit", again.AccountId, default))!;
        ended.Status.ShouldBe(LinkStatus.ReauthRequired);
        ended.LastFailure.ShouldBe("pending_key_timeout", "the key at WhiteBIT is the other link's: the user is not told to delete it");
        Keys.KeysById[linked.AccountId].Deleted.ShouldBeFalse();
        (await browser.LinksAsync()).Single(l => l.AccountId == linked.AccountId).Status.ShouldBe(LinkStatus.Active);
    }

    [Fact]
    public async Task A_flow_that_never_saw_the_key_list_of_a_user_without_another_whitebit_link_says_the_key_may_be_left_and_deletes_nothing()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        const int uid = 642010;
        var pending = await PendingAfterFailedFirstLookAsync(browser, uid);
        // The user created the key on WhiteBIT's page meanwhile: this flow's, or (for all the flow knows) an older one, and no
        // link of the user holds a key to tell it apart from.
        Keys.FinishKeyCreation(uid.ToString(CultureInfo.InvariantCulture), DateTimeOffset.UtcNow);

        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(21)))
        {
            (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(pending, default)).ShouldBe(RefreshOutcome.ReauthRequired);
        }

        (await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default))!.LastFailure.ShouldBe(PendingKeyContinuation.KeyLeftCode);
        Keys.KeysById.Values.Where(k => k.Account == uid.ToString(CultureInfo.InvariantCulture)).ShouldAllBe(k => !k.Deleted, "not deleted on a guess");
    }

    [Fact]
    public async Task A_pending_link_whose_tokens_are_gone_after_its_key_appeared_says_the_key_is_left()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        const int uid = 642020;
        await PendingKeyAsync(browser, uid);
        var pending = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        Keys.FinishKeyCreation(uid.ToString(CultureInfo.InvariantCulture), DateTimeOffset.UtcNow);
        // The first look saw no key; the user has created one since (this flow's), and the vaulted tokens are gone: nothing
        // can delete it now.
        await fixture.Broker<ICredentialVault>().DeleteAsync(pending.CredentialName, default);

        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(pending, default)).ShouldBe(RefreshOutcome.ReauthRequired);

        (await Store.GetAsync(browser.User, "whitebit", pending.AccountId, default))!.LastFailure.ShouldBe(PendingKeyContinuation.KeyLeftCode, "the user must delete the key before connecting again");
    }

    [Fact]
    public async Task A_pending_link_whose_tokens_are_gone_but_whose_user_has_another_whitebit_link_says_only_that_the_credential_is_missing()
    {
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.KeyCreatedAfter = TimeSpan.MaxValue);
        using var browser = fixture.NewBrowser();
        const int uid = 642030;
        var (linked, again) = await LinkedBesideBlindFlowAsync(browser, uid);
        await fixture.Broker<ICredentialVault>().DeleteAsync(again.CredentialName, default);

        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(again, default)).ShouldBe(RefreshOutcome.ReauthRequired);

        (await Store.GetAsync(browser.User, "whitebit", again.AccountId, default))!.LastFailure.ShouldBe("credential_missing");
        Keys.KeysById[linked.AccountId].Deleted.ShouldBeFalse();
    }

    /// <summary>
    /// Two flows of one user for one account, both consented before any key existed (WhiteBIT's consent screen refuses
    /// once one does: <c>partner_key_active_exists</c>): the first saw the empty key list and links the key the user then
    /// creates; the second's only look at the list failed (503), so it never learned which key was there.
    /// </summary>
    private async Task<(AccountLink Linked, AccountLink Blind)> LinkedBesideBlindFlowAsync(BrowserSession browser, int uid)
    {
        await PendingKeyAsync(browser, uid);
        var first = (await Store.ListAsync(browser.User, default)).ShouldHaveSingleItem();
        var blind = await PendingAfterFailedFirstLookAsync(browser, uid);
        Keys.FinishKeyCreation(uid.ToString(CultureInfo.InvariantCulture), DateTimeOffset.UtcNow).ShouldBe(2);
        (await fixture.Broker<PendingKeyContinuation>().ContinueAsync(first, default)).ShouldBe(RefreshOutcome.Refreshed);
        var linked = (await Store.ListAsync(browser.User, default)).Where(l => l.AccountId != blind.AccountId).ShouldHaveSingleItem();
        linked.Status.ShouldBe(LinkStatus.Active);
        return (linked, (await Store.GetAsync(browser.User, "whitebit", blind.AccountId, default))!);
    }

    /// <summary>A pending flow whose callback's one look at the key list was answered 503: it waits, never having seen the list.</summary>
    private async Task<AccountLink> PendingAfterFailedFirstLookAsync(BrowserSession browser, int uid)
    {
        var before = (await Store.ListAsync(browser.User, default)).Select(l => l.AccountId).ToHashSet();
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key/info", 503, """{"data":{"message":["Service unavailable."]}}""", "application/json"));
        try
        {
            await PendingKeyAsync(browser, uid);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var pending = (await Store.ListAsync(browser.User, default)).Where(l => !before.Contains(l.AccountId)).ShouldHaveSingleItem();
        pending.Status.ShouldBe(LinkStatus.PendingKey);
        pending.WaitingFor.ShouldBe("provider_unavailable");
        return pending;
    }

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
}
