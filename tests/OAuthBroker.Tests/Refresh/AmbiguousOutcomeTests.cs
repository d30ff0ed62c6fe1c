using System.Net;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The provider processed the refresh (rotating the token) but no usable answer came back: late, reset, cut short, or
/// replaced by a gateway's error. The broker cannot know the token is spent, so it never sends it again: the access
/// token is served until it expires, and then the user is asked to connect again. Against Bybit's sandbox, which
/// revokes the whole grant when a superseded token comes back.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class AmbiguousOutcomeTests(BrokerEnvironmentFixture fixture)
{
    private const string RefreshPath = "/bybit/oauth/v1/public/refresh_token";

    public static TheoryData<string, FaultDelivery, int, int> Answers => new()
    {
        { "a timeout after the provider rotated", FaultDelivery.Respond, 0, 4 },
        { "a connection reset after the provider rotated", FaultDelivery.Drop, 0, 0 },
        { "a 2xx cut short", FaultDelivery.Truncate, 0, 0 },
        { "a gateway's 502 after the provider rotated", FaultDelivery.Replace, 502, 0 },
        { "a gateway's 504 after the provider rotated", FaultDelivery.Replace, 504, 0 },
        { "a bare 500 after the provider rotated", FaultDelivery.Replace, 500, 0 },
        // A gateway answers 503 when its upstream reset after receiving the request (Envoy: "upstream connect error or
        // disconnect/reset before headers", response flag UC): a 503 does not say the request was not processed.
        { "a 503 after the provider rotated", FaultDelivery.Replace, 503, 0 },
        { "a 2xx the broker cannot read after the provider rotated", FaultDelivery.Replace, 200, 0 },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task A_lost_answer_is_an_unknown_outcome_and_the_possibly_rotated_token_is_never_sent_again(string answer, FaultDelivery delivery, int status, int delaySeconds)
    {
        using var browser = fixture.NewBrowser();
        var account = (636363000 + Random.Shared.Next(999)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await browser.LinkAsync(uid: long.Parse(account, System.Globalization.CultureInfo.InvariantCulture));
        var before = await fixture.CredentialOfAsync(browser.User, "bybit", account);
        await using var instance = await BrokerInstance.StartAsync(fixture, null, BrokerInstance.ShortBudget);
        fixture.SandboxFaults.Add(new Fault(RefreshPath, status, "upstream failed", Delay: TimeSpan.FromSeconds(delaySeconds))
        {
            Phase = FaultPhase.AfterHandler,
            Delivery = delivery,
        });
        try
        {
            (await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default))
                .ShouldBe(RefreshOutcome.OutcomeUnknown, answer);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        // Past the old one-minute backoff: the sweep, a backend's reads and a forced refresh all leave the token alone.
        instance.Clock.Advance(TimeSpan.FromMinutes(2));
        await instance.Get<RefreshSweep>().RunAsync(default);
        using (var read = await ReadCredentialAsync(instance.Uri, browser.User, account))
        {
            read.StatusCode.ShouldBe(HttpStatusCode.OK, "the access token is still valid and served");
            (await read.Content.ReadAsStringAsync()).ShouldContain(before.AccessToken);
        }

        (await instance.Get<LinkRefresher>().RefreshAsync(browser.User, "bybit", account, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.OutcomeUnknown);

        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[before.RefreshToken!]];
        grant.RefreshCount.ShouldBe(1, "the provider processed the one refresh it received");
        grant.Revoked.ShouldBeFalse("no superseded refresh token reached the provider");
        var link = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
        link.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
        link.SpendingVersion.ShouldNotBeNull();
        link.NextRefreshAt.ShouldBe(link.AccessTokenExpiresAt, "looked at again when the access token expires");

        // When the access token expires the link says what the user must do; still nothing is sent.
        instance.Clock.Advance(TimeSpan.FromHours(25));
        await instance.Get<RefreshSweep>().RunAsync(default);
        var ended = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "bybit", account, default))!;
        ended.Status.ShouldBe(LinkStatus.ReauthRequired);
        ended.LastFailure.ShouldBe(LinkRefresher.OutcomeUnknownCode);
        grant.Revoked.ShouldBeFalse();
        grant.RefreshCount.ShouldBe(1);
    }

    [Fact]
    public async Task A_server_error_answer_is_unknown_and_a_temporarily_unavailable_one_is_retried()
    {
        using var failed = fixture.NewBrowser();
        await failed.LinkAsync(provider: "acme");
        var failedAccount = (await failed.LinksAsync()).Single().AccountId;
        var failedBefore = await fixture.CredentialOfAsync(failed.User, "acme", failedAccount);
        using var busy = fixture.NewBrowser();
        await busy.LinkAsync(provider: "acme");
        var busyAccount = (await busy.LinksAsync()).Single().AccountId;
        var grants = fixture.Sandbox<OAuthBroker.Sandbox.Pages.StandardGrants>();
        var grant = grants.Authenticate("oidc:alpha", failedBefore.AccessToken).ShouldNotBeNull();

        // RFC 6749 §4.1.2.1 server_error, "an unexpected condition": here after the rotation committed.
        fixture.SandboxFaults.Add(new Fault("/oidc/alpha/token", 400, """{"error":"server_error"}""", "application/json") { Phase = FaultPhase.AfterHandler, Delivery = FaultDelivery.Replace });
        try
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(failed.User, "acme", failedAccount, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.OutcomeUnknown);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        grant.CurrentRefreshToken.ShouldNotBe(failedBefore.RefreshToken, "the provider did rotate");
        (await fixture.Broker<LinkRefresher>().RefreshAsync(failed.User, "acme", failedAccount, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.OutcomeUnknown);
        grant.Revoked.ShouldBeFalse("the possibly rotated token was not sent again");

        // temporarily_unavailable (RFC 6749 §4.1.2.1): "currently unable to handle the request": the provider's word that it did not.
        fixture.SandboxFaults.Add(new Fault("/oidc/alpha/token", 503, """{"error":"temporarily_unavailable"}""", "application/json"));
        try
        {
            (await fixture.Broker<LinkRefresher>().RefreshAsync(busy.User, "acme", busyAccount, LinkRefresher.Mode.Force, default)).ShouldBe(RefreshOutcome.Retrying);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        (await fixture.Broker<IAccountLinkStore>().GetAsync(busy.User, "acme", busyAccount, default))!.SpendingVersion.ShouldBeNull();
    }

    private static readonly HttpClient Http = new();

    private async Task<HttpResponseMessage> ReadCredentialAsync(Uri instance, string user, string account)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(instance, $"api/links/bybit/{account}/credential?userId={user}"));
        request.Headers.Add("X-Api-Key", fixture.BackendKey);
        return await Http.SendAsync(request);
    }
}
