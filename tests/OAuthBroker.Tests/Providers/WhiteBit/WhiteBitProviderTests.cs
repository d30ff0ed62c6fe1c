using System.Net;
using System.Web;
using Microsoft.Extensions.Logging.Abstractions;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.WhiteBit;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Providers.WhiteBit;

/// <summary>
/// Canned WhiteBIT answers in the documented shapes: https://docs.whitebit.com/api-reference/oauth/usage/ (authorize,
/// get-access-token, refresh-token, api-key-info, api-key-secret, api-key-delete; from whitebit-exchange/docs
/// openapi/oauth2.yaml) and the Fast API Key guides (guides/fast-api-key-via-oauth, guides/fast-api-key-integration);
/// provider-contracts.md §2.
/// </summary>
public sealed class WhiteBitProviderTests
{
    private const string Server = "https://whitebit.com";
    private const string TokenUrl = Server + "/oauth2/token";
    private const string InfoUrl = Server + "/oauth2/api-key/info";
    private const string ExternalId = "3f2a1c4e-8b7d-4e1a-9c2b-5d6e7f8a9b0c";
    private const string SecretUrl = Server + "/oauth2/api-key/" + ExternalId + "/secret";
    private const string DeleteUrl = Server + "/oauth2/api-key/" + ExternalId;
    private static readonly Uri Callback = new("https://broker.example.com/api/oauth/whitebit/callback");
    private readonly StubHttp _http = new();
    private readonly ManualClock _clock = new();

    // W-T example, Fast API Key lifetime (4 h, no refresh token).
    private const string FastTokens = """{ "data": { "access_token": "QUJDREVGR0hJSktMTU5PUA", "expires_in": 14400, "scope": "apikeys.read,apikeys.delete", "token_type": "Bearer" } }""";
    private const string NoKeyYet = """{"data":{"exists":false,"isEnabled":false,"externalId":null,"permissions":[]}}""";
    private const string KeyReady = """{"data":{"exists":true,"isEnabled":true,"externalId":"3f2a1c4e-8b7d-4e1a-9c2b-5d6e7f8a9b0c","permissions":[{"name":"trade","title":"Trade","urls":[{"url":"/api/v4/order/new","enable":true}]}]}}""";
    private const string Locked = """{"data":{"message":["Temporary lock, retry shortly."]}}""";

    private WhiteBitProvider Provider(Action<WhiteBitOptions>? configure = null)
    {
        var options = new WhiteBitOptions
        {
            ClientId = "wb-client",
            ClientSecret = "wb-secret",
            ApiKeyPollInterval = TimeSpan.FromMilliseconds(10),
            ApiKeyPollTimeout = TimeSpan.FromSeconds(2),
            LockedInitialBackoff = TimeSpan.FromMilliseconds(10),
            LockedMaxBackoff = TimeSpan.FromMilliseconds(40),
            LockedTotalWait = TimeSpan.FromMilliseconds(100),
        };
        configure?.Invoke(options);
        options.Validate("Providers:whitebit").ShouldBeEmpty();
        return new WhiteBitProvider("whitebit", options, new ProviderHttpClient(_http, NullLogger<ProviderHttpClient>.Instance), _clock, NullLogger<WhiteBitProvider>.Instance);
    }

    private static AuthorizationCompletion Completion(Dictionary<string, string>? extra = null) =>
        new("c0de", Callback, "v3rifier", "n", new AuthorizationResponse(null, extra ?? []));

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
    public async Task The_exchange_then_waits_for_the_key_fetches_its_secret_once_and_vaults_both()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FastTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, NoKeyYet)
             .Expect(HttpMethod.Get, InfoUrl, (HttpStatusCode)423, Locked)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.OK, """{"data":{"apiSecret":"s3cr3t"}}""");

        var grant = (await Provider().CompleteAuthorizationAsync(Completion(), default)).Value!;

        var form = HttpUtility.ParseQueryString(_http.Received[0].Body);
        form.AllKeys.ShouldBe(["client_id", "client_secret", "code", "code_verifier"], "no grant_type anywhere in WhiteBIT's dialect");
        _http.Received[1].Request.Headers.Authorization!.ToString().ShouldBe("Bearer QUJDREVGR0hJSktMTU5PUA");
        grant.AccountId.ShouldBe(ExternalId);
        grant.Credential.ApiKey.ShouldBe(ExternalId);
        grant.Credential.ApiSecret.ShouldBe("s3cr3t");
        grant.Credential.RefreshToken.ShouldBeNull();
        grant.Credential.Metadata![WhiteBitDefaults.ExternalIdMetadata].ShouldBe(ExternalId);
        grant.Credential.AccessTokenExpiresAt!.Value.ShouldBe(_clock.GetUtcNow().AddHours(4), TimeSpan.FromSeconds(5));
        grant.Scopes.ShouldBe(["apikeys.read", "apikeys.delete"]);
    }

    [Fact]
    public async Task A_delivered_public_key_wins_over_the_externalId()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FastTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.OK, """{"data":{"apiSecret":"s3cr3t"}}""");

        var grant = (await Provider().CompleteAuthorizationAsync(Completion(new() { ["apiKey"] = "PUBLIC" }), default)).Value!;

        grant.Credential.ApiKey.ShouldBe("PUBLIC");
        grant.AccountId.ShouldBe(ExternalId);
    }

    [Fact]
    public async Task A_second_secret_fetch_409_deletes_the_key_as_documented_and_asks_to_restart()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FastTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, KeyReady)
             .Expect(HttpMethod.Get, SecretUrl, HttpStatusCode.Conflict, """{"data":{"message":["Secret already retrieved."]}}""")
             .Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.OK, """{"data":[]}""");

        var result = await Provider().CompleteAuthorizationAsync(Completion(), default);

        result.Failure!.Kind.ShouldBe(ProviderFailureKind.RestartRequired);
        _http.Received.Last().Request.Method.ShouldBe(HttpMethod.Delete);
    }

    [Fact]
    public async Task An_existing_disabled_key_is_account_not_eligible()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FastTokens)
             .Expect(HttpMethod.Get, InfoUrl, HttpStatusCode.OK, """{"data":{"exists":true,"isEnabled":false,"externalId":"x","permissions":[]}}""");

        (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!.Kind.ShouldBe(ProviderFailureKind.AccountNotEligible);
    }

    [Fact]
    public async Task A_lock_longer_than_the_backoff_budget_gives_up_without_Retry_After()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, FastTokens);
        foreach (var _ in Enumerable.Range(0, 4))
        {
            _http.Expect(HttpMethod.Get, InfoUrl, (HttpStatusCode)423, Locked);
        }

        var result = await Provider().CompleteAuthorizationAsync(Completion(), default);

        result.Failure!.ProviderCode.ShouldBe("423");
        Backoff.Delays(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(100))
            .ShouldBe([TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(40)]);
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

        (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!.Kind.ShouldBe(expected);
    }

    [Fact]
    public async Task The_classic_flow_reads_the_rotating_refresh_token_and_comma_separated_scopes()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, """{ "data": { "access_token": "QUJD", "expires_in": 300, "refresh_token": "UVJT", "scope": "show.userinfo,users.balances.read", "token_type": "Bearer" } }""");

        var grant = (await Provider(o => o.Flow = WhiteBitFlow.Classic).CompleteAuthorizationAsync(Completion(), default)).Value!;

        grant.Credential.RefreshToken.ShouldBe("UVJT");
        grant.Scopes.ShouldBe(["show.userinfo", "users.balances.read"]);
        HttpUtility.ParseQueryString(_http.Received[0].Body).AllKeys.ShouldBe(["client_id", "client_secret", "code"], "the classic exchange is exactly the documented three fields");
    }

    [Fact]
    public async Task Unlink_deletes_the_key_while_the_token_lives_and_says_when_it_no_longer_can()
    {
        var credential = new ProviderCredential
        {
            AccessToken = "QUJD",
            AccessTokenExpiresAt = _clock.GetUtcNow().AddHours(1),
            Metadata = new Dictionary<string, string> { [WhiteBitDefaults.ExternalIdMetadata] = ExternalId },
        };
        _http.Expect(HttpMethod.Delete, DeleteUrl, (HttpStatusCode)423, Locked)
             .Expect(HttpMethod.Delete, DeleteUrl, HttpStatusCode.OK, """{"data":[]}""");
        var provider = Provider();

        (await provider.RevokeAsync(credential, default)).Status.ShouldBe(RevocationStatus.Revoked);

        _clock.Advance(TimeSpan.FromHours(2));
        var expired = await provider.RevokeAsync(credential, default);
        expired.Status.ShouldBe(RevocationStatus.NoLongerPossible);
        expired.Detail.ShouldContain("delete it in WhiteBIT");
        _http.Received.Count.ShouldBe(2, "no call is made with an expired token");
    }
}
