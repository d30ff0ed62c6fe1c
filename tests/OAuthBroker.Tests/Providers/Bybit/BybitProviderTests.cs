using System.Buffers.Text;
using System.Net;
using System.Text.Json;
using System.Web;
using Microsoft.Extensions.Logging.Abstractions;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Bybit;
using OAuthBroker.Providers.Http;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Providers.Bybit;

/// <summary>
/// Canned Bybit answers, each reproducing a documented shape: Bybit API Broker guidance
/// (https://bybit-exchange.github.io/docs/v5/broker/api-broker/guidance, provider-contracts.md §1 B1–B5)
/// and Bybit's own OAuth tool for the error codes (bybit-exchange/skills modules/oauth.md).
/// </summary>
public sealed class BybitProviderTests
{
    private const string Api = "https://api2.bybit.com";
    private const string TokenUrl = Api + "/oauth/v1/public/access_token";
    private const string OpenApiUrl = Api + "/oauth/v1/resource/restrict/openapi";
    private const string UidUrl = Api + "/oauth/v1/resource/restrict/uid_bearer";
    private static readonly Uri Callback = new("https://broker.example.com/api/oauth/bybit/callback");

    private readonly StubHttp _http = new();
    private readonly ManualClock _clock = new();

    private BybitProvider Provider(Action<BybitOptions>? configure = null)
    {
        var options = new BybitOptions { ClientId = "broker-client", ClientSecret = "broker/secret+1" };
        configure?.Invoke(options);
        return new BybitProvider("bybit", options, new ProviderHttpClient(_http, NullLogger<ProviderHttpClient>.Instance), _clock, NullLogger<BybitProvider>.Instance);
    }

    /// <summary>A token shaped like the docs' sample: HS256, claims exp, ClientID, GrantMemberID, ApprovedScope, Nonce.</summary>
    private static string Jwt(long? uid = 123456789, long exp = 1_900_000_000)
    {
        var claims = new Dictionary<string, object> { ["exp"] = exp, ["ClientID"] = "broker-client", ["ApprovedScope"] = new[] { "openapi" }, ["Nonce"] = "n0nce" };
        if (uid is not null)
        {
            claims["GrantMemberID"] = uid;
        }

        return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims)) + ".c2lnbmF0dXJl";
    }

    // B3 example: flat, lowercase "bearer", 24 h / 30 d.
    private static string TokenResponse(string accessToken, string? refreshToken = null, bool withExpiry = true) => JsonSerializer.Serialize(
        withExpiry
            ? new Dictionary<string, object> { ["access_token"] = accessToken, ["refresh_token"] = refreshToken ?? Jwt(), ["token_type"] = "bearer", ["expires_in"] = 86400, ["refresh_token_expires_in"] = 2592000 }
            : new Dictionary<string, object> { ["access_token"] = accessToken, ["refresh_token"] = refreshToken ?? Jwt(), ["token_type"] = "bearer" });

    // B4 example.
    private const string OpenApiResponse = """{ "ret_code": 0, "ret_msg": "success", "result": { "api_key": "AbCdEf123", "api_secret": "s3cr3tXYZ" } }""";

    private static AuthorizationCompletion Completion(string code) =>
        new(code, Callback, null, "n0nce", new AuthorizationResponse(null, new Dictionary<string, string>()));

    [Fact]
    public async Task The_authorize_URL_carries_exactly_the_documented_parameters()
    {
        var url = (await Provider().BuildAuthorizationUrlAsync(new AuthorizationRequest("st4te", Callback, null, "n0nce"), default)).Value!;

        url.GetLeftPart(UriPartial.Path).ShouldBe("https://www.bybit.com/en/oauth");
        var query = HttpUtility.ParseQueryString(url.Query);
        query.AllKeys.ShouldBe(["client_id", "response_type", "redirect_uri", "scope", "state"]);
        query["client_id"].ShouldBe("broker-client");
        query["response_type"].ShouldBe("code");
        query["redirect_uri"].ShouldBe(Callback.AbsoluteUri);
        query["scope"].ShouldBe("openapi");
        query["state"].ShouldBe("st4te");
    }

    [Fact]
    public void Testnet_uses_Bybits_testnet_hosts()
    {
        var options = new BybitOptions { Environment = BybitEnvironment.Testnet };
        options.ResolvedAuthorizeUrl.AbsoluteUri.ShouldBe("https://testnet.bybit.com/oauth");
        options.ResolvedApiBaseUrl.AbsoluteUri.ShouldBe("https://api2-testnet.bybit.com/");
    }

    [Fact]
    public async Task The_code_exchange_sends_exactly_the_documented_form_with_a_browser_User_Agent()
    {
        var accessToken = Jwt(uid: 987654321);
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(accessToken))
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse);

        var result = await Provider().CompleteAuthorizationAsync(Completion("the-code"), default);

        result.Succeeded.ShouldBeTrue();
        var (exchange, body) = _http.Received[0];
        exchange.Content!.Headers.ContentType!.MediaType.ShouldBe("application/x-www-form-urlencoded");
        exchange.Headers.UserAgent.ToString().ShouldStartWith("Mozilla/5.0");
        var form = HttpUtility.ParseQueryString(body);
        form.AllKeys.ShouldBe(["client_id", "client_secret", "code"]);
        form["client_secret"].ShouldBe("broker/secret+1");
        form["code"].ShouldBe("the-code");
        _http.Received[1].Request.Headers.Authorization!.ToString().ShouldBe("Bearer " + accessToken);

        var grant = result.Value;
        grant.AccountId.ShouldBe("987654321");
        grant.Scopes.ShouldBe(["openapi"]);
        grant.Credential.TokenType.ShouldBe("Bearer");
        grant.Credential.AccessToken.ShouldBe(accessToken);
        grant.Credential.ApiKey.ShouldBe("AbCdEf123");
        grant.Credential.ApiSecret.ShouldBe("s3cr3tXYZ");
        grant.Credential.AccessTokenExpiresAt!.Value.ShouldBe(_clock.GetUtcNow().AddDays(1), TimeSpan.FromSeconds(5));
        grant.Credential.RefreshTokenExpiresAt!.Value.ShouldBe(_clock.GetUtcNow().AddDays(30), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Without_expires_in_the_expiry_comes_from_the_token_itself()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(exp: 1_900_000_000), Jwt(exp: 1_902_000_000), withExpiry: false))
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse);

        var result = await Provider().CompleteAuthorizationAsync(Completion("c"), default);

        result.Value!.Credential.AccessTokenExpiresAt.ShouldBe(DateTimeOffset.FromUnixTimeSeconds(1_900_000_000));
        result.Value.Credential.RefreshTokenExpiresAt.ShouldBe(DateTimeOffset.FromUnixTimeSeconds(1_902_000_000));
    }

    [Theory]
    // Both envelope spellings exist (Bybit's tool checks both); the JSON code is authoritative whatever the status.
    [InlineData("""{"retCode":10001,"retMsg":"code expired"}""", 200, ProviderFailureKind.InvalidGrant)]
    [InlineData("""{"ret_code":10001,"ret_msg":"code expired"}""", 400, ProviderFailureKind.InvalidGrant)]
    [InlineData("""{"retCode":"10003","retMsg":"invalid client"}""", 200, ProviderFailureKind.InvalidClient)]
    [InlineData("""{"retCode":20039,"retMsg":"bind 2fa"}""", 200, ProviderFailureKind.AccountNotEligible)]
    [InlineData("""{"retCode":12345,"retMsg":"other"}""", 200, ProviderFailureKind.Rejected)]
    [InlineData("""<html>blocked</html>""", 403, ProviderFailureKind.InvalidResponse)]
    [InlineData("""{"token_type":"bearer"}""", 200, ProviderFailureKind.InvalidResponse)]
    [InlineData("""service unavailable""", 503, ProviderFailureKind.Unavailable)]
    public async Task Token_endpoint_failures_map_to_what_the_broker_must_do(string body, int status, ProviderFailureKind expected)
    {
        _http.Expect(HttpMethod.Post, TokenUrl, (HttpStatusCode)status, body);

        var result = await Provider().CompleteAuthorizationAsync(Completion("c"), default);

        result.Succeeded.ShouldBeFalse();
        result.Failure.Kind.ShouldBe(expected);
        result.Failure.Description.ShouldNotContain("code expired", Case.Insensitive);
    }

    [Fact]
    public async Task A_429_carries_the_providers_Retry_After()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, (HttpStatusCode)429, "", "text/plain",
            response => response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7)));

        var result = await Provider().CompleteAuthorizationAsync(Completion("c"), default);

        result.Failure!.Kind.ShouldBe(ProviderFailureKind.RateLimited);
        result.Failure.RetryAfter.ShouldBe(TimeSpan.FromSeconds(7));
    }

    [Fact]
    public async Task The_uid_comes_from_the_uid_endpoint_when_configured_in_either_documented_shape()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: null)))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, """{"ret_code":0,"ret_msg":"success","result":{"uid":555}}""")
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse)
             .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: 1)))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, """{"uid":"666"}""")
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse);

        var fromEnvelope = await Provider().CompleteAuthorizationAsync(Completion("c"), default);
        var fromTopLevel = await Provider(o => o.AccountIdSource = BybitAccountIdSource.UidEndpoint).CompleteAuthorizationAsync(Completion("c"), default);

        fromEnvelope.Value!.AccountId.ShouldBe("555");
        fromTopLevel.Value!.AccountId.ShouldBe("666");
    }

    [Fact]
    public async Task Claim_only_mode_refuses_a_token_without_GrantMemberID()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: null)));

        var result = await Provider(o => o.AccountIdSource = BybitAccountIdSource.TokenClaim).CompleteAuthorizationAsync(Completion("c"), default);

        result.Failure!.Kind.ShouldBe(ProviderFailureKind.InvalidResponse);
    }

    [Theory]
    [InlineData("""{"ret_code":33004,"ret_msg":"expired"}""", ProviderFailureKind.TokenRejected)]
    [InlineData("""{"retCode":10001,"retMsg":"unauthorized"}""", ProviderFailureKind.TokenRejected)]
    [InlineData("""{"ret_code":0,"ret_msg":"success","result":{"api_key":"k"}}""", ProviderFailureKind.InvalidResponse)]
    public async Task OpenAPI_key_failures_fail_the_whole_link(string body, ProviderFailureKind expected)
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt()))
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, body);

        var result = await Provider().CompleteAuthorizationAsync(Completion("c"), default);

        result.Failure!.Kind.ShouldBe(expected);
    }

    [Fact]
    public void Options_report_every_problem_at_once()
    {
        var errors = new BybitOptions { AuthorizeUrl = "http://bybit.example.com/oauth", ApiBaseUrl = "not a url" }.Validate("Providers:bybit").ToList();

        errors.Count.ShouldBe(4);
        errors.ShouldAllBe(e => e.StartsWith("Providers:bybit:", StringComparison.Ordinal));
        new BybitOptions { ClientId = "id", ClientSecret = "secret" }.Validate("Providers:bybit").ShouldBeEmpty();
    }

    private const string RefreshUrl = Api + "/oauth/v1/public/refresh_token";

    [Fact]
    public async Task Refresh_sends_the_secret_and_falls_back_to_the_public_client_reading_on_10003()
    {
        // B6 (documented for the public client: client_id + refresh_token). 10003 spends no token, so the other
        // reading is safe to try once.
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, """{"retCode":10003,"retMsg":"invalid client"}""")
             .Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, TokenResponse(Jwt(), Jwt(exp: 1_950_000_000)));

        var refreshed = await Provider().RefreshAsync(new ProviderCredential { AccessToken = "old", RefreshToken = "rt-1" }, default);

        refreshed.Value!.RefreshToken.ShouldNotBeNull();
        HttpUtility.ParseQueryString(_http.Received[0].Body).AllKeys.ShouldBe(["client_id", "client_secret", "refresh_token"]);
        HttpUtility.ParseQueryString(_http.Received[1].Body).AllKeys.ShouldBe(["client_id", "refresh_token"]);
    }

    [Theory]
    [InlineData(BybitRefreshSecret.Send, new[] { "client_id", "client_secret", "refresh_token" })]
    [InlineData(BybitRefreshSecret.Omit, new[] { "client_id", "refresh_token" })]
    public async Task Refresh_can_be_pinned_to_one_reading(BybitRefreshSecret reading, string[] fields)
    {
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, """{"retCode":10004,"retMsg":"invalid refresh token"}""");

        var refreshed = await Provider(o => o.RefreshClientSecret = reading).RefreshAsync(new ProviderCredential { AccessToken = "old", RefreshToken = "rt-1" }, default);

        refreshed.Failure!.Kind.ShouldBe(ProviderFailureKind.InvalidGrant);
        HttpUtility.ParseQueryString(_http.Received.Single().Body).AllKeys.ShouldBe(fields);
    }

    [Fact]
    public async Task Extra_fields_in_a_token_response_are_ignored_and_never_stored()
    {
        var body = """{ "access_token": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "refresh_token": "r", "token_type": "bearer", "expires_in": 86400, "id_token": "x", "debug": { "secret": "nope" } }""";
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, body)
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, """{"ret_code":0,"ret_msg":"success","result":{"uid":1}}""")
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse);

        var grant = (await Provider().CompleteAuthorizationAsync(Completion("c"), default)).Value!;

        System.Text.Json.JsonSerializer.Serialize(grant.Credential).ShouldNotContain("nope");
        grant.Credential.Metadata.ShouldBeNull();
    }
}
