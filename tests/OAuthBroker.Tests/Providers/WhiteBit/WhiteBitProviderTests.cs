using System.Net;
using System.Web;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.WhiteBit;

namespace OAuthBroker.Tests.Providers.WhiteBit;

/// <summary>
/// Canned WhiteBIT answers in the documented shapes: https://docs.whitebit.com/api-reference/oauth/usage/ (authorize,
/// get-access-token, refresh-token, api-key-info, api-key-secret, api-key-delete; generated from whitebit-exchange/docs
/// openapi/oauth2.yaml) and the Fast API Key guides (guides/fast-api-key-via-oauth, the older one; and
/// guides/fast-api-key-integration, whose latest revision issues a refresh token in this flow).
/// </summary>
public sealed class WhiteBitProviderTests
{
    private const string Server = "https://whitebit.com";
    private const string TokenUrl = Server + "/oauth2/token";
    private const string RefreshUrl = Server + "/oauth2/refresh_token";
    private const string InfoUrl = Server + "/oauth2/api-key/info";
    private const string ExternalId = "3f2a1c4e-8b7d-4e1a-9c2b-5d6e7f8a9b0c";
    private const string SecretUrl = Server + "/oauth2/api-key/" + ExternalId + "/secret";
    private const string DeleteUrl = Server + "/oauth2/api-key/" + ExternalId;
    private static readonly Uri Callback = new("https://broker.example.com/api/oauth/whitebit/callback");
    private readonly StubHttp _http = new();
    private readonly RecordingClock _clock = new();

    // Older reading (guides/fast-api-key-via-oauth): "4-hour access token ... A refresh token is not issued".
    private const string FourHourTokens = """{ "data": { "access_token": "QUJDREVGR0hJSktMTU5PUA", "expires_in": 14400, "scope": "apikeys.read,apikeys.delete", "token_type": "Bearer" } }""";

    // Newest reading (fast-api-key-integration, "Exchange the code": "a short-lived access token and a refresh token; read the
    // lifetime from expires_in"), in get-access-token's documented shape.
    private const string ShortLivedTokens = """{ "data": { "access_token": "QUJDREVGR0hJSktMTU5PUA", "expires_in": 300, "refresh_token": "UVJTVFVWV1hZWjAxMjM0NQ", "scope": "apikeys.create,apikeys.read,apikeys.delete", "token_type": "Bearer" } }""";

    // refresh-token's documented 200: a new pair.
    private const string RefreshedTokens = """{ "data": { "access_token": "TkVXQUNDRVNT", "expires_in": 300, "refresh_token": "TkVXUkVGUkVTSA", "scope": "apikeys.create,apikeys.read,apikeys.delete", "token_type": "Bearer" } }""";

    // api-key-info: "Empty array when exists is false".
    private const string NoKeyYet = """{"data":{"exists":false,"isEnabled":false,"externalId":null,"permissions":[]}}""";
    private const string KeyReady = """{"data":{"exists":true,"isEnabled":true,"externalId":"3f2a1c4e-8b7d-4e1a-9c2b-5d6e7f8a9b0c","permissions":[{"name":"trade","title":"Trade","urls":[{"url":"/api/v4/order/new","enable":true}]}]}}""";
    private const string Secret = """{"data":{"apiSecret":"s3cr3t"}}""";
    private const string AlreadyRetrieved = """{"data":{"message":["Secret already retrieved."]}}""";
    private const string Locked = """{"data":{"message":["Temporary lock, retry shortly."]}}""";

    private WhiteBitProvider Provider(Action<WhiteBitOptions>? configure = null)
    {
        var options = new WhiteBitOptions
        {
            ClientId = "wb-client",
            ClientSecret = "wb-secret",
            ApiKeyPollInterval = TimeSpan.FromSeconds(1.5),
        };
        configure?.Invoke(options);
        options.Validate("Providers:whitebit").ShouldBeEmpty();
        return new WhiteBitProvider("whitebit", options, new ProviderHttpClient(_http, NullLogger<ProviderHttpClient>.Instance), _clock, NullLogger<WhiteBitProvider>.Instance);
    }

    /// <summary>
    /// The provider's calls in the broker's order, without its storage: the exchange and a first look (the callback's,
    /// <c>Flows.DeferredProviderLeg</c>), then a look at each <see cref="PendingAuthorization.NextAttemptAt"/> (scheduled
    /// work, <c>Links.PendingKeyContinuation</c>), the wait taken on the recording clock. Removing what a failed flow
    /// created is the caller's (<see cref="WhiteBitProvider.AbandonAsync"/>, tested on its own).
    /// </summary>
    private async Task<ProviderResult<ProviderGrant>> AuthorizeAsync(WhiteBitProvider provider, AuthorizationCompletion completion)
    {
        var exchanged = await provider.ExchangeCodeAsync(completion, default);
        if (!exchanged.Succeeded)
        {
            return exchanged.Failure;
        }

        var pending = exchanged.Value;
        while (true)
        {
            switch (await provider.ContinueAsync(pending, default))
            {
                case PendingStep.Completed done:
                    return done.Grant;
                case PendingStep.Failed failed:
                    return failed.Failure;
                case PendingStep.Waiting waiting:
                    await Task.Delay(waiting.Next.NextAttemptAt - _clock.GetUtcNow(), _clock);
                    pending = waiting.Next;
                    break;
                case var other:
                    throw new ShouldAssertException($"Unexpected {other}: no renewal is due in these canned flows.");
            }
        }
    }

    private static AuthorizationCompletion Completion(Dictionary<string, string>? extra = null) =>
        new("c0de", Callback, "v3rifier", "n", new AuthorizationResponse(null, extra ?? []));

    private ProviderCredential Linked(string? refreshToken = null, DateTimeOffset? accessExpires = null, DateTimeOffset? refreshExpires = null) => new()
    {
        AccessToken = "QUJD",
        RefreshToken = refreshToken,
        AccessTokenExpiresAt = accessExpires ?? _clock.GetUtcNow().AddMinutes(4),
        RefreshTokenExpiresAt = refreshExpires,
        Metadata = new Dictionary<string, string> { [WhiteBitDefaults.ExternalIdMetadata] = ExternalId },
    };

    [Fact]
    public async Task Authorize_uses_camelCase_clientId_and_PKCE_and_no_scope()
    {
        var url = (await Provider().BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, "ch", "n"), default)).Value!;

        url.GetLeftPart(UriPartial.Path).ShouldBe("https://whitebit.com/auth/login");
        var query = HttpUtility.ParseQueryString(url.Query);
        query.AllKeys.ShouldBe(["clientId", "state", "redirect_uri", "code_challenge", "code_challenge_method"]);
        query["clientId"].ShouldBe("wb-client");

        var eu = (await Provider(o => { o.Server = WhiteBitServer.Eu; o.Flow = WhiteBitFlow.Classic; }).BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, null, "n"), default)).Value!;
        eu.GetLeftPart(UriPartial.Path).ShouldBe("https://whitebit.eu/auth/login");
        HttpUtility.ParseQueryString(eu.Query).AllKeys.ShouldBe(["clientId", "state"]);
    }

    [Fact]
    public void The_Fast_flow_on_the_EU_server_is_a_configuration_error()
    {
        // openapi/oauth2.yaml, tag "OAuth API Keys": "The EU server (https://whitebit.eu) does not expose these endpoints".
        var errors = new WhiteBitOptions { ClientId = "a", ClientSecret = "b", Server = WhiteBitServer.Eu }.Validate("Providers:whitebit").ToList();

        errors.ShouldHaveSingleItem().ShouldContain("FastApiKey flow needs Server Global");
        new WhiteBitOptions { ClientId = "a", ClientSecret = "b", Server = WhiteBitServer.Eu, Flow = WhiteBitFlow.Classic }.Validate("p").ShouldBeEmpty();
    }

    [Fact]
    public void A_configuration_that_still_sets_the_removed_callback_budgets_starts()
    {
        // ApiKeyPollTimeout and LockedTotalWait bounded a wait inside the callback that the broker no longer has: an old
        // configuration still naming them binds (unknown keys are ignored) and the provider is built.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Providers:whitebit:ClientId"] = "a",
            ["Providers:whitebit:ClientSecret"] = "b",
            ["Providers:whitebit:ApiKeyPollTimeout"] = "00:00:30",
            ["Providers:whitebit:LockedTotalWait"] = "00:05:00",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddBrokerCore(configuration).BuildServiceProvider();

        services.GetRequiredService<ProviderCatalog>().Find("whitebit").ShouldBeOfType<WhiteBitProvider>();
    }

    [Fact]
    public void The_pending_waits_leave_room_for_one_more_look_and_a_deletion_fits_in_a_request()
    {
        static List<string> Errors(Action<WhiteBitOptions> configure)
        {
            var options = new WhiteBitOptions { ClientId = "a", ClientSecret = "b" };
            configure(options);
            return options.Validate("Providers:whitebit").ToList();
        }

        Errors(o => o.PendingKeyWaitTimeout = TimeSpan.FromSeconds(1)).ShouldHaveSingleItem().ShouldContain("PendingKeyWaitTimeout must not be shorter than ApiKeyPollInterval");
        Errors(o => o.PendingLockedTotalWait = TimeSpan.FromSeconds(4)).ShouldHaveSingleItem().ShouldContain("nor PendingLockedTotalWait than LockedInitialBackoff");
        Errors(o => o.ApiKeyPollInterval = TimeSpan.Zero).ShouldHaveSingleItem().ShouldContain("ApiKeyPollInterval must be positive");
        Errors(o => o.KeyDeletionLockedTotalWait = TimeSpan.FromSeconds(201)).ShouldHaveSingleItem().ShouldContain("KeyDeletionLockedTotalWait <= 200 s");
        Errors(o => o.KeyDeletionLockedTotalWait = TimeSpan.Zero).ShouldBeEmpty("no wait at all: the unlink answers 'retry' at the first 423");
    }

    [Fact]
    public async Task The_exchange_then_waits_for_the_key_fetches_its_secret_once_and_vaults_both()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet)
             .Expect(HttpMethod.Get, InfoUrl, (HttpStatusCode)423, Locked)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.OK, Secret);

        var grant = (await AuthorizeAsync(Provider(), Completion())).Value!;

        var form = HttpUtility.ParseQueryString(_http.Received[0].Body);
        form.AllKeys.ShouldBe(["client_id", "client_secret", "code", "code_verifier"], "no grant_type anywhere in WhiteBIT's dialect");
        _http.Received[1].Request.Headers.Authorization!.ToString().ShouldBe("Bearer QUJDREVGR0hJSktMTU5PUA");
        grant.AccountId.ShouldBe(ExternalId);
        grant.Credential.ApiKey.ShouldBe(ExternalId);
        grant.Credential.ApiSecret.ShouldBe("s3cr3t");
        grant.Credential.RefreshToken.ShouldBeNull();
        grant.Credential.Metadata![WhiteBitDefaults.ExternalIdMetadata].ShouldBe(ExternalId);
        grant.Scopes.ShouldBe(["apikeys.read", "apikeys.delete"]);
        // Poll every 1.5 s (the guide: "1–2 second intervals"); 423 waited out from 5 s (the guide: "starting at 5–10 seconds").
        _clock.Waits.ShouldBe([TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(5)]);
    }

    [Fact]
    public async Task The_older_reading_4_hours_without_a_refresh_token_still_holds()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.OK, Secret);
        var provider = Provider();

        var credential = (await AuthorizeAsync(provider, Completion())).Value!.Credential;

        credential.RefreshToken.ShouldBeNull();
        credential.AccessTokenExpiresAt!.Value.ShouldBe(_clock.GetUtcNow().AddHours(4), TimeSpan.FromSeconds(5));
        (await provider.RefreshAsync(credential, default)).Failure!.ProviderCode.ShouldBe("no_refresh");
        _http.Received.Count.ShouldBe(3, "no refresh call without a refresh token");
    }

    [Fact]
    public async Task The_newest_reading_vaults_the_refresh_token_with_its_documented_600_second_life()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, ShortLivedTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.OK, Secret);

        var credential = (await AuthorizeAsync(Provider(), Completion())).Value!.Credential;

        credential.RefreshToken.ShouldBe("UVJTVFVWV1hZWjAxMjM0NQ");
        credential.AccessTokenExpiresAt.ShouldBe(_clock.GetUtcNow().AddSeconds(300));
        // refresh-token: "Refresh token duration is 600 seconds" (the answer itself carries no lifetime).
        credential.RefreshTokenExpiresAt.ShouldBe(_clock.GetUtcNow().AddSeconds(600));
        credential.ApiSecret.ShouldBe("s3cr3t");
    }

    [Fact]
    public async Task Refresh_in_the_Fast_flow_posts_the_token_field_and_returns_the_new_pair()
    {
        // refresh-token: form client_id, client_secret, token (not refresh_token); "New refresh token" every time.
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, RefreshedTokens);

        var refreshed = (await Provider().RefreshAsync(Linked(refreshToken: "UVJT"), default)).Value!;

        var form = HttpUtility.ParseQueryString(_http.Received.Single().Body);
        form.AllKeys.ShouldBe(["client_id", "client_secret", "token"]);
        form["token"].ShouldBe("UVJT");
        refreshed.AccessToken.ShouldBe("TkVXQUNDRVNT");
        refreshed.RefreshToken.ShouldBe("TkVXUkVGUkVTSA");
        refreshed.RefreshTokenExpiresAt.ShouldBe(_clock.GetUtcNow().AddSeconds(600));
    }

    [Fact]
    public async Task Refreshes_are_paced_to_the_documented_one_request_per_second()
    {
        // refresh-token: "Rate limit: 1 request per second".
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, RefreshedTokens)
             .Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, RefreshedTokens)
             .Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, RefreshedTokens);
        var provider = Provider();

        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => provider.RefreshAsync(Linked(refreshToken: "UVJT"), default)));

        _http.Received.Count.ShouldBe(3);
        _clock.Waits.Count.ShouldBe(2, "the first goes at once, the next two wait for their slots");
        _clock.Waits.ShouldAllBe(w => w >= TimeSpan.FromSeconds(1));
    }

    [Theory]
    [InlineData(429, "", null, ProviderFailureKind.RateLimited)]
    [InlineData(400, """{"data":{"token":["Invalid token."]}}""", null, ProviderFailureKind.InvalidGrant)]
    [InlineData(401, """{"data":{"message":["Invalid request"]}}""", null, ProviderFailureKind.InvalidClient)]
    [InlineData(503, "", "7", ProviderFailureKind.Unavailable)]
    public async Task Refresh_failures_are_read_for_the_refresh_endpoint(int status, string body, string? retryAfter, ProviderFailureKind expected)
    {
        _http.Expect(HttpMethod.Post, RefreshUrl, (HttpStatusCode)status, body, customize: r =>
        {
            if (retryAfter is not null)
            {
                r.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
            }
        });

        var failure = (await Provider().RefreshAsync(Linked(refreshToken: "UVJT"), default)).Failure!;

        failure.Kind.ShouldBe(expected);
        failure.Description.ShouldNotContain("code exchange");
        if (status == 429)
        {
            failure.RetryAfter.ShouldBe(TimeSpan.FromSeconds(1), "without Retry-After, the documented 1 request/s");
        }

        if (retryAfter is not null)
        {
            failure.RetryAfter.ShouldBe(TimeSpan.FromSeconds(7));
        }
    }

    [Fact]
    public async Task A_delivered_public_key_wins_over_the_externalId()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.OK, Secret);

        var grant = (await AuthorizeAsync(Provider(), Completion(new() { ["apiKey"] = "PUBLIC" }))).Value!;

        grant.Credential.ApiKey.ShouldBe("PUBLIC");
        grant.AccountId.ShouldBe(ExternalId);
    }

    [Fact]
    public async Task A_409_on_a_key_this_flow_created_deletes_it_as_documented_and_asks_to_restart()
    {
        // api-key-secret 409: "Recovery requires deleting the key and restarting the OAuth API key flow".
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.Conflict, AlreadyRetrieved)
             .Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.OK, """{"data":[]}""");

        var result = await AuthorizeAsync(Provider(), Completion());

        result.Failure!.Kind.ShouldBe(ProviderFailureKind.RestartRequired);
        _http.Received.Last().Request.Method.ShouldBe(HttpMethod.Delete);
    }

    [Fact]
    public async Task A_409_on_a_key_this_flow_created_that_WhiteBIT_does_not_delete_says_the_key_is_left()
    {
        // api-key-secret 409 ("Recovery requires deleting the key"), then api-key-delete 403 ("does not belong to the
        // authenticated OAuth2 client"): the key stays at WhiteBIT, and the failure says so.
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.Conflict, AlreadyRetrieved)
             .Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.Forbidden, """{"data":{"message":["Forbidden."]}}""");
        var provider = Provider();
        var waiting = (await provider.ContinueAsync((await provider.ExchangeCodeAsync(Completion(), default)).Value!, default)).ShouldBeOfType<PendingStep.Waiting>().Next;

        var failed = (await provider.ContinueAsync(waiting, default)).ShouldBeOfType<PendingStep.Failed>();

        failed.Failure.ProviderCode.ShouldBe(OAuthBroker.Links.PendingKeyContinuation.KeyLeftCode);
        failed.Failure.Kind.ShouldBe(ProviderFailureKind.RestartRequired);
        failed.Failure.Description.ShouldContain("delete it in WhiteBIT's API key settings");
    }

    [Fact]
    public async Task A_409_on_a_key_that_was_there_before_the_flow_looked_is_never_deleted()
    {
        // One active key per (user, partner) (fast-api-key-integration, Limits). In the older guide's reading the consent
        // still redirects (partner_key_active_exists) and /info then shows the existing key, whose secret its link fetched.
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.Conflict, AlreadyRetrieved);

        var result = await AuthorizeAsync(Provider(), Completion());

        result.Failure!.ProviderCode.ShouldBe("key_already_exists");
        result.Failure.Kind.ShouldBe(ProviderFailureKind.AccountNotEligible);
        result.Failure.Description.ShouldContain("Unlink the existing WhiteBIT link");
        _http.Received.ShouldNotContain(r => r.Request.Method == HttpMethod.Delete);
    }

    [Fact]
    public async Task A_key_an_existing_link_holds_is_reported_without_touching_its_secret()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady);
        var provider = Provider();

        var pending = (await provider.ExchangeCodeAsync(Completion(), default)).Value! with { ExistingAccountIds = new HashSet<string> { ExternalId } };
        var step = await provider.ContinueAsync(pending, default);

        step.ShouldBeOfType<PendingStep.Failed>().Failure.ProviderCode.ShouldBe("key_already_exists");
        _http.Received.Count.ShouldBe(2);
    }

    [Fact]
    public async Task An_existing_disabled_key_is_account_not_eligible()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, """{"data":{"exists":true,"isEnabled":false,"externalId":"x","permissions":[]}}""");

        (await AuthorizeAsync(Provider(), Completion())).Failure!.Kind.ShouldBe(ProviderFailureKind.AccountNotEligible);
    }

    [Fact]
    public async Task No_key_within_PendingKeyWaitTimeout_ends_the_flow_with_no_key_created()
    {
        // fast-api-key-integration, step 0.6: the user may never create the key; the wait is the pending link's, bounded.
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens);
        foreach (var _ in Enumerable.Range(0, 5))
        {
            _http.Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet);
        }

        var result = await AuthorizeAsync(Provider(o => o.PendingKeyWaitTimeout = TimeSpan.FromSeconds(6)), Completion());

        result.Failure!.ProviderCode.ShouldBe("no_key_created");
        _clock.Waits.ShouldBe(Enumerable.Repeat(TimeSpan.FromSeconds(1.5), 4).ToArray(), "a look every ApiKeyPollInterval, none past the budget");
    }

    [Fact]
    public async Task CompleteAuthorizationAsync_refuses_before_spending_the_code()
    {
        // The broker completes WhiteBIT through IDeferredAuthorization (Flows.AuthorizationFlowService checks for it first).
        await Should.ThrowAsync<NotSupportedException>(() => Provider().CompleteAuthorizationAsync(Completion(), default));

        _http.Received.ShouldBeEmpty("the single-use code is not sent");
    }

    [Fact]
    public async Task Completed_after_the_callback_the_key_may_take_minutes_and_the_steps_say_when_to_look_again()
    {
        // fast-api-key-integration, step 0.6: the user creates the key after the exchange (permissions, then 2FA).
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.OK, Secret);
        var provider = Provider();

        var pending = (await provider.ExchangeCodeAsync(Completion(), default)).Value!;
        pending.Credential.AccessToken.ShouldBe("QUJDREVGR0hJSktMTU5PUA");
        pending.ToString().ShouldNotContain("QUJD");

        var waiting = (await provider.ContinueAsync(pending, default)).ShouldBeOfType<PendingStep.Waiting>();
        waiting.Reason.ShouldBe(PendingWait.NotYetCreated);
        waiting.Next.NextAttemptAt.ShouldBe(_clock.GetUtcNow().AddSeconds(1.5));
        waiting.Next.Progress.Values.ShouldNotContain(v => v.Contains("QUJD", StringComparison.Ordinal));

        _clock.Advance(TimeSpan.FromMinutes(3));
        var done = (await provider.ContinueAsync(waiting.Next, default)).ShouldBeOfType<PendingStep.Completed>();
        done.Grant.Credential.ApiSecret.ShouldBe("s3cr3t");
        done.Grant.AccountId.ShouldBe(ExternalId);
    }

    [Fact]
    public async Task Completed_after_the_callback_423_backs_off_for_the_documented_3_to_5_minutes()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet);
        for (var i = 0; i < 8; i++)
        {
            _http.Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady).Expect(HttpMethod.Get, SecretUrl, (HttpStatusCode)423, Locked);
        }

        var provider = Provider();
        var pending = (await provider.ExchangeCodeAsync(Completion(), default)).Value!;
        pending = (await provider.ContinueAsync(pending, default)).ShouldBeOfType<PendingStep.Waiting>().Next;
        var delays = new List<TimeSpan>();
        PendingStep step;
        while ((step = await provider.ContinueAsync(pending, default)) is PendingStep.Waiting waiting)
        {
            waiting.Reason.ShouldBe(PendingWait.Locked);
            var delay = waiting.Next.NextAttemptAt - _clock.GetUtcNow();
            delays.Add(delay);
            _clock.Advance(delay);
            pending = waiting.Next;
        }

        delays.ShouldBe(new[] { 5, 10, 20, 40, 60, 60, 60 }.Select(s => TimeSpan.FromSeconds(s)).ToArray());
        delays.Sum(d => d.TotalMinutes).ShouldBeInRange(3, 5);
        step.ShouldBeOfType<PendingStep.Failed>().Failure.ProviderCode.ShouldBe("key_locked", "the budget is final, under the wait's own name");
    }

    [Fact]
    public async Task A_pending_authorization_whose_access_token_expired_asks_for_a_refresh_when_it_holds_a_refresh_token()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, ShortLivedTokens)
             .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens);
        var provider = Provider();
        var withRefresh = (await provider.ExchangeCodeAsync(Completion(), default)).Value!;
        var withoutRefresh = (await provider.ExchangeCodeAsync(Completion(), default)).Value!;

        // Past the 300 s access token, within the refresh token's 600 s.
        _clock.Advance(TimeSpan.FromMinutes(6));
        (await provider.ContinueAsync(withRefresh, default)).ShouldBeOfType<PendingStep.RefreshNeeded>();

        _clock.Advance(TimeSpan.FromHours(5));
        (await provider.ContinueAsync(withoutRefresh, default)).ShouldBeOfType<PendingStep.Failed>().Failure.Kind.ShouldBe(ProviderFailureKind.TokenRejected);
        (await provider.ContinueAsync(withRefresh, default)).ShouldBeOfType<PendingStep.Failed>("the refresh token has expired too");
    }

    [Fact]
    public async Task Abandoning_deletes_a_key_this_flow_created_but_never_one_that_was_there_before()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.OK, """{"data":[]}""")
             .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FourHourTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, (HttpStatusCode)423, Locked);
        var provider = Provider();

        var ours = (await provider.ContinueAsync((await provider.ExchangeCodeAsync(Completion(), default)).Value!, default)).ShouldBeOfType<PendingStep.Waiting>().Next;
        (await provider.AbandonAsync(ours, default)).Status.ShouldBe(RevocationStatus.Revoked);

        var theirs = (await provider.ContinueAsync((await provider.ExchangeCodeAsync(Completion(), default)).Value!, default)).ShouldBeOfType<PendingStep.Waiting>().Next;
        // The key was there before the flow looked: it created nothing, so nothing of it is left (and the key stays).
        (await provider.AbandonAsync(theirs, default)).Status.ShouldBe(RevocationStatus.Revoked);
        _http.Received.Count(r => r.Request.Method == HttpMethod.Delete).ShouldBe(1);
    }

    [Theory]
    [InlineData(401, """{"data":{"message":["Invalid request"]}}""", ProviderFailureKind.InvalidGrant)]
    [InlineData(422, """{"errors":{"client_id":["validation.required"],"client_secret":["validation.required"]},"notification":null}""", ProviderFailureKind.InvalidClient)]
    [InlineData(422, """{"errors":{"code":["validation.required"]},"notification":null}""", ProviderFailureKind.InvalidGrant)]
    [InlineData(200, """{"access_token":"not wrapped in data"}""", ProviderFailureKind.InvalidResponse)]
    [InlineData(429, "", ProviderFailureKind.RateLimited)]
    public async Task Token_endpoint_error_shapes_map_to_outcomes(int status, string body, ProviderFailureKind expected)
    {
        _http.Expect(HttpMethod.Post, TokenUrl, (HttpStatusCode)status, body);

        (await AuthorizeAsync(Provider(), Completion())).Failure!.Kind.ShouldBe(expected);
    }

    [Fact]
    public async Task An_absurd_expires_in_is_clamped_and_never_throws()
    {
        // security.md F11.
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, """{ "data": { "access_token": "A", "expires_in": 9.9e307, "refresh_token": "R" } }""");

        var refreshed = (await Provider().RefreshAsync(Linked(refreshToken: "UVJT"), default)).Value!;

        refreshed.AccessTokenExpiresAt.ShouldBe(_clock.GetUtcNow() + ProviderNumbers.MaxLifetime);
        refreshed.RefreshToken.ShouldBe("R");
    }

    [Fact]
    public async Task The_classic_flow_reads_the_rotating_refresh_token_and_comma_separated_scopes()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, """{ "data": { "access_token": "QUJD", "expires_in": 300, "refresh_token": "UVJT", "scope": "show.userinfo,users.balances.read", "token_type": "Bearer" } }""");

        var grant = (await AuthorizeAsync(Provider(o => o.Flow = WhiteBitFlow.Classic), Completion())).Value!;

        grant.Credential.RefreshToken.ShouldBe("UVJT");
        grant.Scopes.ShouldBe(["show.userinfo", "users.balances.read"]);
        HttpUtility.ParseQueryString(_http.Received[0].Body).AllKeys.ShouldBe(["client_id", "client_secret", "code"], "the classic exchange is exactly the documented three fields");
    }

    [Fact]
    public async Task Unlink_deletes_the_key_while_the_token_lives_waiting_out_a_lock()
    {
        _http.Expect(HttpMethod.Delete, DeleteUrl, (HttpStatusCode)423, Locked)
             .Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.OK, """{"data":[]}""");

        (await Provider().RevokeAsync(Linked(), default)).Status.ShouldBe(RevocationStatus.Revoked);
    }

    [Fact]
    public async Task Unlink_waits_out_a_lock_for_at_most_KeyDeletionLockedTotalWait_then_asks_to_retry_and_erases_nothing()
    {
        // api-key-delete answers 423 like api-key-secret; 5 s, then 10 s (15 s in all), then the unlink answers.
        foreach (var _ in Enumerable.Range(0, 3))
        {
            _http.Expect(HttpMethod.Delete, DeleteUrl, (HttpStatusCode)423, Locked);
        }

        var result = await Provider(o => o.KeyDeletionLockedTotalWait = TimeSpan.FromSeconds(15)).RevokeAsync(Linked(), default);

        result.Status.ShouldBe(RevocationStatus.Unavailable);
        _clock.Waits.ShouldBe([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)]);
    }

    [Fact]
    public async Task Unlink_with_an_expired_access_token_and_no_refresh_token_says_the_key_must_be_deleted_in_WhiteBIT()
    {
        var expired = await Provider().RevokeAsync(Linked(accessExpires: _clock.GetUtcNow().AddMinutes(-1)), default);

        expired.Status.ShouldBe(RevocationStatus.NoLongerPossible);
        expired.Detail.ShouldContain("delete it in WhiteBIT");
        expired.RefreshFirst.ShouldBeFalse();
        _http.Received.ShouldBeEmpty("no call is made with an expired token");
    }

    [Fact]
    public async Task Unlink_with_an_expired_access_token_but_a_live_refresh_token_asks_to_refresh_first_and_erases_nothing()
    {
        var expired = await Provider().RevokeAsync(Linked(refreshToken: "UVJT", accessExpires: _clock.GetUtcNow().AddMinutes(-1), refreshExpires: _clock.GetUtcNow().AddMinutes(5)), default);

        expired.Status.ShouldBe(RevocationStatus.Unavailable);
        expired.RefreshFirst.ShouldBeTrue();
        _http.Received.ShouldBeEmpty("the refresh token is spent by the refresher, which stores the rotated pair, not here");

        var bothExpired = await Provider().RevokeAsync(Linked(refreshToken: "UVJT", accessExpires: _clock.GetUtcNow().AddMinutes(-1), refreshExpires: _clock.GetUtcNow().AddMinutes(-1)), default);
        bothExpired.Status.ShouldBe(RevocationStatus.NoLongerPossible);
    }

    [Fact]
    public async Task A_401_on_delete_near_the_tokens_expiry_with_a_refresh_token_held_also_asks_to_refresh_first()
    {
        _http.Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.Unauthorized, """{"data":{"message":["Unauthorized."]}}""")
             .Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.Unauthorized, """{"data":{"message":["Unauthorized."]}}""");

        var nearExpiry = await Provider().RevokeAsync(Linked(refreshToken: "UVJT", accessExpires: _clock.GetUtcNow().AddSeconds(30)), default);
        nearExpiry.Status.ShouldBe(RevocationStatus.Unavailable);
        nearExpiry.RefreshFirst.ShouldBeTrue();

        // api-key-delete 401 also means "token does not carry the apikeys.delete scope": a refresh cannot cure that.
        var fresh = await Provider().RevokeAsync(Linked(refreshToken: "UVJT"), default);
        fresh.Status.ShouldBe(RevocationStatus.NoLongerPossible);
        fresh.RefreshFirst.ShouldBeFalse();
    }

    [Fact]
    public async Task A_401_on_a_fresh_token_while_waiting_for_the_key_is_a_refusal_not_a_refresh_loop()
    {
        // api-key-info 401: "A token that does not carry the apikeys.read scope returns the same status".
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, ShortLivedTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.Unauthorized, """{"data":{"message":["Unauthorized."]}}""");

        var result = await AuthorizeAsync(Provider(), Completion());

        result.Failure!.Kind.ShouldBe(ProviderFailureKind.TokenRejected);
        _http.Received.ShouldNotContain(r => r.Request.RequestUri!.AbsoluteUri == RefreshUrl);
    }

    [Theory]
    // api-key-delete documents 200/401/403/404 only, and "disabled keys must be removed by the user from the WhiteBIT
    // dashboard": any other 4xx cannot be fixed by retrying the unlink.
    [InlineData(400)]
    [InlineData(409)]
    [InlineData(422)]
    public async Task An_undocumented_4xx_on_delete_ends_with_instructions_instead_of_retrying_forever(int status)
    {
        _http.Expect(HttpMethod.Delete, DeleteUrl, (HttpStatusCode)status, """{"data":{"message":["Key is disabled."]}}""");

        var result = await Provider().RevokeAsync(Linked(), default);

        result.Status.ShouldBe(RevocationStatus.NoLongerPossible);
        result.Detail.ShouldContain("dashboard");
    }

    [Theory]
    [InlineData(404, RevocationStatus.Revoked)]
    [InlineData(403, RevocationStatus.NoLongerPossible)]
    [InlineData(429, RevocationStatus.Unavailable)]
    [InlineData(503, RevocationStatus.Unavailable)]
    public async Task Documented_and_transient_delete_answers_keep_their_meaning(int status, RevocationStatus expected)
    {
        _http.Expect(HttpMethod.Delete, DeleteUrl, (HttpStatusCode)status, """{"data":{"message":["x"]}}""");

        (await Provider().RevokeAsync(Linked(), default)).Status.ShouldBe(expected);
    }
}
