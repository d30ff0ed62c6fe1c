using System.Net;
using System.Web;
using OAuthBroker.Links;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.WhiteBit;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// WhiteBIT end to end against the sandbox, in each reading the documents give: the Fast API Key flow's tokens (the
/// newest texts: short-lived plus a refresh token; the older: 4 hours, none), when the key is created (after the
/// exchange, fast-api-key-integration 0.6; during consent, fast-api-key-via-oauth), and what a second consent for the
/// same user and partner does (the gate blocks, 0.3; or the consent redirects without a new key). Also the classic flow.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class WhiteBitLinkFlowTests(BrokerEnvironmentFixture fixture)
{
    private WhiteBitSandboxOptions WhiteBit => fixture.SandboxOptions.WhiteBit;

    private WhiteBitSandboxEndpoints.State Keys => fixture.Sandbox<WhiteBitSandboxEndpoints.State>();

    /// <summary>
    /// The key is there at the callback's look: created with no delay after the exchange, or visible at the first poll.
    /// Not the sandbox's default (fast-api-key-integration step 0.6 puts the user's key creation after the exchange);
    /// the tests of the wait set their own.
    /// </summary>
    private IDisposable QuickPath() => SandboxSwitch.Set(WhiteBit, o => { o.KeyCreatedAfter = TimeSpan.Zero; o.KeyReadyAfterPolls = 1; });

    [Theory]
    [InlineData(FastTokenReading.ShortLivedWithRefresh, KeyCreationReading.AfterExchange)]
    [InlineData(FastTokenReading.ShortLivedWithRefresh, KeyCreationReading.DuringConsent)]
    [InlineData(FastTokenReading.FourHoursNoRefresh, KeyCreationReading.AfterExchange)]
    [InlineData(FastTokenReading.FourHoursNoRefresh, KeyCreationReading.DuringConsent)]
    public async Task The_Fast_API_Key_flow_links_the_users_new_key_and_unlink_deletes_it_in_every_reading(FastTokenReading tokens, KeyCreationReading creation)
    {
        using var quick = QuickPath();
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.FastTokens = tokens; o.KeyCreation = creation; });
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("whitebit");
        authorize.AbsolutePath.ShouldBe("/whitebit/auth/login");
        HttpUtility.ParseQueryString(authorize.Query).AllKeys.ShouldBe(["clientId", "state", "redirect_uri", "code_challenge", "code_challenge_method"]);

        using (var completed = await browser.GetAsync(await browser.ConsentAsync(authorize)))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        Guid.TryParse(link.AccountId, out _).ShouldBeTrue("the key's externalId names the link");
        link.HasApiKey.ShouldBeTrue();
        var now = fixture.BrokerClock.GetUtcNow();
        if (tokens == FastTokenReading.ShortLivedWithRefresh)
        {
            link.HasRefreshToken.ShouldBeTrue();
            link.AccessTokenExpiresAt!.Value.ShouldBeInRange(now.AddSeconds(250), now.AddSeconds(310));
            link.RefreshTokenExpiresAt!.Value.ShouldBeInRange(now.AddSeconds(550), now.AddSeconds(610));
        }
        else
        {
            link.HasRefreshToken.ShouldBeFalse();
            link.AccessTokenExpiresAt!.Value.ShouldBeInRange(now.AddHours(3.9), now.AddHours(4.1));
        }

        var credential = await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId);
        credential.ApiKey.ShouldBe(link.AccountId, "newer guide: externalId is the public key");
        credential.ApiSecret.ShouldBe(Keys.KeysById[link.AccountId].Secret);

        var (_, outcome, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", link.AccountId);
        outcome.ShouldBe("revoked");
        Keys.KeysById[link.AccountId].Deleted.ShouldBeTrue();
    }

    [Fact]
    public async Task In_the_newest_reading_a_refresh_renews_the_pair_and_keeps_the_key()
    {
        using var quick = QuickPath();
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.FastTokens = FastTokenReading.ShortLivedWithRefresh);
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        var before = await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId);
        // Every broker process of the run calls from 127.0.0.1: WhiteBIT's 1 request/s window must not hold another
        // test's refresh of the last second (another instance's, which this instance's pacer does not see).
        Keys.LastRefreshByAddress.Clear();

        (await ProviderFlowSteps.ForceRefreshAsync(fixture, "whitebit", link.AccountId, browser.User)).ShouldBe(HttpStatusCode.OK);

        var after = await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId);
        after.AccessToken.ShouldNotBe(before.AccessToken);
        after.RefreshToken.ShouldNotBe(before.RefreshToken, "refresh-token: a new refresh token every time, replacing the pair");
        after.ApiKey.ShouldBe(before.ApiKey);
        after.ApiSecret.ShouldBe(before.ApiSecret);
    }

    [Fact]
    public async Task Refreshes_of_several_links_in_a_row_stay_within_the_one_request_per_second_limit()
    {
        using var quick = QuickPath();
        // refresh-token: "Rate limit: 1 request per second"; the sandbox answers 429 to a second request within the second.
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.FastTokens = FastTokenReading.ShortLivedWithRefresh);
        var links = new List<(string User, string Account)>();
        for (var i = 0; i < 3; i++)
        {
            using var browser = fixture.NewBrowser();
            await browser.LinkAsync(provider: "whitebit");
            links.Add((browser.User, (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId));
        }

        var statuses = await Task.WhenAll(links.Select(l => ProviderFlowSteps.ForceRefreshAsync(fixture, "whitebit", l.Account, l.User)));

        statuses.ShouldAllBe(s => s == HttpStatusCode.OK);
    }

    [Fact]
    public async Task In_the_older_reading_after_the_4_hour_token_expired_unlink_says_to_delete_the_key_in_WhiteBIT_and_erases()
    {
        using var quick = QuickPath();
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.FastTokens = FastTokenReading.FourHoursNoRefresh);
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();

        using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromHours(5));
        var (status, outcome, detail) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", link.AccountId);

        status.ShouldBe(HttpStatusCode.OK);
        outcome.ShouldBe("no_longer_possible");
        detail.ShouldContain("delete it in WhiteBIT");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task In_the_newest_reading_an_expired_access_token_does_not_cost_the_key_it_is_renewed_first()
    {
        using var quick = QuickPath();
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.FastTokens = FastTokenReading.ShortLivedWithRefresh);
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();

        using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(6));
        // WhiteBIT limits refreshes to 1 request/s per address (refresh-token), and every broker process of the test run
        // calls from 127.0.0.1: a refresh an earlier test's instance sent within the window would be answered 429 (the
        // unlink then reports "not renewed yet", correctly). Out of that window, this unlink's renewal is the only one.
        await Task.Delay(WhiteBit.RefreshRateLimitWindow + TimeSpan.FromMilliseconds(200));
        // The unlink renews the pair first (Refresh/UnlinkRefreshFirstTests has the failures).
        var (status, outcome, detail) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", link.AccountId);
        status.ShouldBe(HttpStatusCode.OK, detail);
        outcome.ShouldBe("revoked");
        Keys.KeysById[link.AccountId].Deleted.ShouldBeTrue();
    }

    [Fact]
    public async Task A_public_key_delivered_on_the_callback_is_used_as_the_api_key()
    {
        using var quick = QuickPath();
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        using (await browser.GetAsync(new Uri(callback.AbsoluteUri + "&apiKey=PUBLICKEY123")))
        {
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        (await fixture.CredentialOfAsync(browser.User, "whitebit", link.AccountId)).ApiKey.ShouldBe("PUBLICKEY123");
    }

    [Fact]
    public async Task A_secret_already_retrieved_409_deletes_the_key_this_flow_created_and_asks_to_start_over()
    {
        // The key "appears shortly after" (fast-api-key-via-oauth): absent at the callback's look, so it is provably this flow's.
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.DuringConsent; o.KeyReadyAfterPolls = 2; });
        using var browser = fixture.NewBrowser();
        (await browser.LinkAsync(uid: 409001, provider: "whitebit")).Query.ShouldContain("oauth_result=linked");
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.PendingKey);
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key/", 409, """{"data":{"message":["Secret already retrieved."]}}""", "application/json") { PathSuffix = "/secret" });
        try
        {
            using var later = fixture.BrokerClock.AdvanceFor(TimeSpan.FromSeconds(3));
            await fixture.Broker<ScheduledRun>().RunAsync(default);
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldBe("409");
        Keys.KeysById.Values.Where(k => k.Account == "409001").ShouldHaveSingleItem().Deleted.ShouldBeTrue("api-key-secret 409: delete the key and restart");
    }

    [Fact]
    public async Task With_the_gate_reading_a_second_consent_for_the_same_account_stops_at_WhiteBIT_and_the_existing_link_keeps_its_key()
    {
        using var quick = QuickPath();
        // fast-api-key-integration 0.3: an active key for the (user, client) pair blocks; "the partner receives no callback".
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.ExistingActiveKey = ExistingKeyReading.GateBlocks);
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 500100, provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();

        using var again = await ProviderFlowSteps.SubmitConsentAsync(browser, await browser.StartAsync("whitebit"), "500100");

        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await again.Content.ReadAsStringAsync()).ShouldContain("delete the existing key in platform settings");
        Keys.KeysById[link.AccountId].Deleted.ShouldBeFalse();
        (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId.ShouldBe(link.AccountId);
    }

    [Fact]
    public async Task With_the_older_reading_a_second_consent_redirects_but_the_existing_key_is_never_deleted()
    {
        using var quick = QuickPath();
        // fast-api-key-via-oauth, partner_key_active_exists: no new key; /info then reports the pair's existing key, whose
        // secret the first link fetched (409). Deleting it would silently break that link.
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.ExistingActiveKey = ExistingKeyReading.ConsentRedirects);
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 500200, provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();

        var returned = await browser.LinkAsync(uid: 500200, provider: "whitebit");

        ProviderFlowSteps.ErrorOf(returned).ShouldBe("account_not_eligible");
        Keys.KeysById[link.AccountId].Deleted.ShouldBeFalse();
        Keys.KeysById.Values.Count(k => k.Account == "500200").ShouldBe(1, "one active key per (user, partner)");
        var (_, outcome, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", link.AccountId);
        outcome.ShouldBe("revoked", "the existing link still holds a working token for its key");
    }

    [Fact]
    public async Task A_disabled_key_for_this_platform_is_account_not_eligible()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("whitebit");
        var callback = await browser.ConsentAsync(authorize, extra: new() { ["disabled_key"] = "on" });
        using var response = await browser.GetAsync(callback);
        ProviderFlowSteps.ErrorOf(response.Headers.Location!).ShouldBe("account_not_eligible");
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_key_the_user_never_creates_ends_the_pending_link_with_no_key_created_after_the_key_wait()
    {
        // The wait after the exchange is the pending link's (Providers:whitebit:PendingKeyWaitTimeout, 10 min), not the request's.
        using var reading = SandboxSwitch.Set(WhiteBit, o => { o.KeyCreation = KeyCreationReading.AfterExchange; o.KeyCreatedAfter = TimeSpan.MaxValue; });
        using var browser = fixture.NewBrowser();

        var returned = await browser.LinkAsync(provider: "whitebit");

        returned.Query.ShouldContain("oauth_result=linked");
        (await browser.LinksAsync()).ShouldHaveSingleItem().Status.ShouldBe(LinkStatus.PendingKey);
        using (fixture.BrokerClock.AdvanceFor(TimeSpan.FromMinutes(11)))
        {
            await fixture.Broker<ScheduledRun>().RunAsync(default);
        }

        var failed = (await browser.LinksAsync()).ShouldHaveSingleItem();
        failed.Status.ShouldBe(LinkStatus.ReauthRequired);
        failed.LastFailure.ShouldBe("no_key_created");
    }

    [Theory]
    [InlineData(400)]
    [InlineData(409)]
    public async Task Unlinking_a_key_WhiteBIT_disabled_ends_with_instructions_instead_of_failing_forever(int status)
    {
        using var quick = QuickPath();
        // api-key-delete: "disabled keys must be removed by the user from the WhiteBIT dashboard" (status undocumented).
        using var reading = SandboxSwitch.Set(WhiteBit, o => o.DisabledKeyDeleteStatus = status);
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(provider: "whitebit");
        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        Keys.KeysById[link.AccountId].Enabled = false;

        var (httpStatus, outcome, detail) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit", link.AccountId);

        httpStatus.ShouldBe(HttpStatusCode.OK);
        outcome.ShouldBe("no_longer_possible");
        detail.ShouldContain("dashboard");
    }

    [Theory]
    [InlineData(401, """{"data":{"message":["Invalid request"]}}""", "provider_rejected")]
    [InlineData(422, """{"errors":{"client_secret":["validation.required"]},"notification":null}""", "provider_misconfigured")]
    [InlineData(422, """{"errors":{"code":["validation.required"]},"notification":null}""", "provider_rejected")]
    [InlineData(200, """{"access_token":"flat-not-wrapped"}""", "provider_invalid_response")]
    [InlineData(503, "maintenance", "provider_unavailable")]
    public async Task Every_documented_token_error_shape_is_a_clear_outcome_and_writes_nothing(int status, string body, string expected)
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/token", status, body, "application/json"));
        using var response = await browser.GetAsync(callback);
        ProviderFlowSteps.ErrorOf(response.Headers.Location!).ShouldBe(expected);
        (await browser.LinksAsync()).ShouldBeEmpty();
    }

    [Theory]
    [InlineData(401, """{"data":{"message":["Unauthorized."]}}""", "provider_rejected")]
    [InlineData(403, """{"data":{"message":["Forbidden."]}}""", "provider_rejected")]
    public async Task API_key_endpoint_errors_are_clear_outcomes(int status, string body, string expected)
    {
        using var browser = fixture.NewBrowser();
        var callback = await browser.ConsentAsync(await browser.StartAsync("whitebit"));
        fixture.SandboxFaults.Add(new Fault("/whitebit/oauth2/api-key/info", status, body, "application/json"));
        using var response = await browser.GetAsync(callback);
        ProviderFlowSteps.ErrorOf(response.Headers.Location!).ShouldBe(expected);
    }

    [Fact]
    public async Task The_classic_flow_links_with_a_rotating_refresh_token_and_no_api_key()
    {
        using var browser = fixture.NewBrowser();
        var authorize = await browser.StartAsync("whitebit-classic");
        HttpUtility.ParseQueryString(authorize.Query).AllKeys.ShouldBe(["clientId", "state"]);
        using (var completed = await browser.GetAsync(await browser.ConsentAsync(authorize)))
        {
            completed.Headers.Location!.Query.ShouldContain("oauth_result=linked");
        }

        var link = (await browser.LinksAsync()).ShouldHaveSingleItem();
        link.HasRefreshToken.ShouldBeTrue();
        link.HasApiKey.ShouldBeFalse();
        link.Scopes.ShouldContain("show.userinfo");
        link.AccessTokenExpiresAt!.Value.ShouldBeInRange(fixture.BrokerClock.GetUtcNow().AddSeconds(250), fixture.BrokerClock.GetUtcNow().AddSeconds(310));
        (await ProviderFlowSteps.ForceRefreshAsync(fixture, "whitebit-classic", link.AccountId, browser.User)).ShouldBe(HttpStatusCode.OK);
        var (_, outcome, _) = await ProviderFlowSteps.UnlinkAsync(browser, "whitebit-classic", link.AccountId);
        outcome.ShouldBe("not_supported_by_provider");
    }
}
