using System.Net;
using OAuthBroker.Links;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Tests.EndToEnd;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// Unlink when the provider can revoke only with a live access token (<c>RevocationResult.RefreshFirst</c>): WhiteBIT's
/// api-key-delete needs the bearer token, and in the newest Fast API Key reading that token lives 300 s and comes with a
/// refresh token (fast-api-key-integration: "a short-lived access token and a refresh token"). The unlink renews the
/// pair through the refresher (its lease, its spend marker, the vault write first), tries the deletion once more, and
/// says what happened.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class UnlinkRefreshFirstTests(BrokerEnvironmentFixture fixture) : IDisposable
{
    private const string RefreshPath = "/whitebit/oauth2/refresh_token";

    /// <summary>Every test here runs in that reading; xUnit disposes the class after each test.</summary>
    private readonly IDisposable _reading = SandboxSwitch.Set(fixture.SandboxOptions.WhiteBit, o => { o.FastTokens = FastTokenReading.ShortLivedWithRefresh; o.KeyCreatedAfter = TimeSpan.Zero; });

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    public void Dispose() => _reading.Dispose();

    /// <summary>6 minutes on: the access token (300 s) has expired, the refresh token (600 s) has not.</summary>
    private IDisposable AfterTheAccessTokenExpired() => fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6));

    private Task<(HttpStatusCode Status, string Outcome, string Detail)> UnlinkWithAsync(Fault fault, BrowserSession browser, string accountId)
    {
        fixture.SandboxFaults.Add(fault);
        return ProviderFlowSteps.UnlinkAsync(browser, "whitebit", accountId);
    }

    private async Task<(BrowserSession Browser, string AccountId)> LinkWhiteBitAsync()
    {
        var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        return (browser, link.AccountId);
    }

    [Fact]
    public async Task The_access_token_is_renewed_under_the_lease_and_the_key_deleted_in_one_unlink()
    {
        var (browser, accountId) = await LinkWhiteBitAsync();
        using var _ = browser;
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", accountId);

        using var later = AfterTheAccessTokenExpired();
        var (status, outcome, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", accountId);

        status.ShouldBe(HttpStatusCode.OK);
        outcome.ShouldBe("revoked");
        Keys.KeysById[accountId].Deleted.ShouldBeTrue();
        (await browser.LinksAsync()).ShouldBeEmpty();
        (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "whitebit", accountId, default)).ShouldBeNull();
        before.RefreshToken.ShouldNotBeNull();
    }

    [Fact]
    public async Task A_refresh_token_WhiteBIT_rejects_leaves_nothing_to_delete_with_and_says_so()
    {
        var (browser, accountId) = await LinkWhiteBitAsync();
        using var _ = browser;

        using var later = AfterTheAccessTokenExpired();
        // refresh-token's documented refusal of a token it does not know (400, {"data":{"token":["Invalid token."]}}).
        var fault = new Fault(RefreshPath, 400, """{"data":{"token":["Invalid token."]}}""", "application/json");
        var (status, outcome, detail) = await UnlinkWithAsync(fault, browser, accountId);

        fault.Used.ShouldBe(1, "the refresh was tried once");
        status.ShouldBe(HttpStatusCode.OK);
        outcome.ShouldBe("no_longer_possible");
        detail.ShouldContain("provider's own settings");
        Keys.KeysById[accountId].Deleted.ShouldBeFalse("the key could not be deleted, and the answer does not claim it was");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_renewal_whose_outcome_is_unknown_never_sends_the_token_again_and_says_the_key_must_be_deleted_at_WhiteBIT()
    {
        var (browser, accountId) = await LinkWhiteBitAsync();
        using var _ = browser;

        using var later = AfterTheAccessTokenExpired();
        // The sandbox rotates the pair, then the answer is lost behind a gateway (502): the new tokens never arrive, and
        // with the access token expired the link needs the user (docs/link-states.md).
        var fault = new Fault(RefreshPath, 502, "bad gateway") { Phase = FaultPhase.AfterHandler, Delivery = FaultDelivery.Replace };
        var (status, outcome, detail) = await UnlinkWithAsync(fault, browser, accountId);

        fault.Used.ShouldBe(1, "the refresh token was sent once");
        status.ShouldBe(HttpStatusCode.OK);
        outcome.ShouldBe("no_longer_possible");
        detail.ShouldContain("outcome is unknown");
        detail.ShouldContain("provider's own settings");
        Keys.KeysById[accountId].Deleted.ShouldBeFalse("nothing claims the key was deleted");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_renewal_WhiteBIT_puts_off_erases_nothing_and_leaves_the_token_unspent()
    {
        var (browser, accountId) = await LinkWhiteBitAsync();
        using var _ = browser;
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", accountId);

        using var later = AfterTheAccessTokenExpired();
        // refresh-token: "Rate limit: 1 request per second"; the FAQ: REST limits answer 429 (nothing issued).
        var fault = new Fault(RefreshPath, 429, """{"data":{"message":["Too Many Attempts."]}}""", "application/json");
        var (status, code, detail) = await UnlinkWithAsync(fault, browser, accountId);

        fault.Used.ShouldBe(1);
        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        code.ShouldBe("revocation_unavailable");
        detail.ShouldContain("could not be renewed");
        Keys.KeysById[accountId].Deleted.ShouldBeFalse();
        var row = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "whitebit", accountId, default))!;
        row.Status.ShouldBe(LinkStatus.Active);
        row.SpendingVersion.ShouldBeNull("WhiteBIT answered that it issued nothing");
        row.LeaseOwner.ShouldBeNull();
        (await fixture.CredentialOfAsync(browser.User, "whitebit", accountId)).RefreshToken.ShouldBe(before.RefreshToken);
    }

    [Fact]
    public async Task A_deletion_that_fails_after_the_renewal_is_reported_and_the_renewed_link_kept_for_the_next_unlink()
    {
        var (browser, accountId) = await LinkWhiteBitAsync();
        using var _ = browser;
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", accountId);

        using var later = AfterTheAccessTokenExpired();
        // api-key-delete answers 503 once (a transient failure) after the renewal.
        var fault = new Fault("/whitebit/oauth2/api-key/", 503, "unavailable");
        var (status, code, _) = await UnlinkWithAsync(fault, browser, accountId);

        fault.Used.ShouldBe(1, "deletion tried once after the renewal");
        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        code.ShouldBe("revocation_unavailable");
        Keys.KeysById[accountId].Deleted.ShouldBeFalse();
        var renewed = await fixture.CredentialOfAsync(browser.User, "whitebit", accountId);
        renewed.RefreshToken.ShouldNotBe(before.RefreshToken, "the renewal was stored");

        var (_, outcome, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", accountId);
        outcome.ShouldBe("revoked");
        Keys.KeysById[accountId].Deleted.ShouldBeTrue();
    }
}
