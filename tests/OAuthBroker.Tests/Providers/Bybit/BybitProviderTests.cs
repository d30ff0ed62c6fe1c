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
/// Canned Bybit answers, each reproducing a documented shape: the API Broker guidance
/// (https://bybit-exchange.github.io/docs/v5/broker/api-broker/guidance: authorize, callback, token response, OpenAPI
/// key), the help centre article "How to Integrate With the OAuth System as a Broker on Bybit" (phases 2–5, incl. the
/// uid_bearer endpoint), and Bybit's own OAuth client for wrapped token answers, refresh and error codes
/// (bybit-exchange/skills modules/oauth.js, modules/oauth.md).
/// </summary>
public sealed class BybitProviderTests
{
    private const string Api = "https://api2.bybit.com";
    private const string TokenUrl = Api + "/oauth/v1/public/access_token";
    private const string RefreshUrl = Api + "/oauth/v1/public/refresh_token";
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

    /// <summary>A token shaped like the guidance's sample: HS256, claims exp, ClientID, GrantMemberID, ApprovedScope, Nonce.</summary>
    private static string Jwt(long? uid = 123456789, long exp = 1_900_000_000)
    {
        var claims = new Dictionary<string, object> { ["exp"] = exp, ["ClientID"] = "broker-client", ["ApprovedScope"] = new[] { "openapi" }, ["Nonce"] = "n0nce" };
        if (uid is not null)
        {
            claims["GrantMemberID"] = uid;
        }

        return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims)) + ".c2lnbmF0dXJl";
    }

    // The guidance's token example: flat, lowercase "bearer", 24 h / 30 d.
    private static string TokenResponse(string accessToken, string? refreshToken = null, bool withExpiry = true) => JsonSerializer.Serialize(
        withExpiry
            ? new Dictionary<string, object> { ["access_token"] = accessToken, ["refresh_token"] = refreshToken ?? Jwt(), ["token_type"] = "bearer", ["expires_in"] = 86400, ["refresh_token_expires_in"] = 2592000 }
            : new Dictionary<string, object> { ["access_token"] = accessToken, ["refresh_token"] = refreshToken ?? Jwt(), ["token_type"] = "bearer" });

    // modules/oauth.js: `const tokenData = tokenResp.result || tokenResp;` — the same fields inside a retCode envelope.
    private static string WrappedTokenResponse(string accessToken, string? refreshToken = null) =>
        "{\"retCode\":0,\"retMsg\":\"success\",\"result\":" + TokenResponse(accessToken, refreshToken) + "}";

    // Help centre phase 5: "JSON with ret_code = 0 and ret_msg = "success""; the UID field's name is not documented.
    private static string UidResponse(long uid) => "{\"ret_code\":0,\"ret_msg\":\"success\",\"result\":{\"uid\":" + uid + "}}";

    // The guidance's OpenAPI key example.
    private const string OpenApiResponse = """{ "ret_code": 0, "ret_msg": "success", "result": { "api_key": "AbCdEf123", "api_secret": "s3cr3tXYZ" } }""";

    private static AuthorizationCompletion Completion(string code) =>
        new(code, Callback, null, "n0nce", new AuthorizationResponse(null, new Dictionary<string, string>()));

    private StubHttp ExpectLink(string tokenBody, long uid = 123456789) =>
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, tokenBody)
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, UidResponse(uid))
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse);

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
    public async Task An_authorize_URL_override_that_has_a_query_keeps_it_instead_of_gaining_a_second_question_mark()
    {
        var url = (await Provider(o => o.AuthorizeUrl = "https://www.bybit.com/en/oauth?lang=en").BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, null, "n"), default)).Value!;

        url.AbsoluteUri.ShouldNotContain("??");
        var query = HttpUtility.ParseQueryString(url.Query);
        query["lang"].ShouldBe("en");
        query["state"].ShouldBe("st");
    }

    [Fact]
    public void A_callback_with_neither_code_nor_error_is_a_cancellation_at_Bybit()
    {
        // Help centre phase 3: "If you cancel the verification process, the redirection will still occur."
        Provider().Descriptor.CodelessCallbackMeansDenied.ShouldBeTrue();
        JsonSerializer.Serialize(Provider().Descriptor).ShouldNotContain("Codeless", Case.Insensitive);
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
        ExpectLink(TokenResponse(accessToken), uid: 987654321);

        var result = await Provider().CompleteAuthorizationAsync(Completion("the-code"), default);

        result.Succeeded.ShouldBeTrue();
        var (exchange, body) = _http.Received[0];
        exchange.Content!.Headers.ContentType!.MediaType.ShouldBe("application/x-www-form-urlencoded");
        exchange.Headers.UserAgent.ToString().ShouldStartWith("Mozilla/5.0");
        var form = HttpUtility.ParseQueryString(body);
        form.AllKeys.ShouldBe(["client_id", "client_secret", "code"]);
        form["client_secret"].ShouldBe("broker/secret+1");
        form["code"].ShouldBe("the-code");
        _http.Received[1].Request.RequestUri!.AbsoluteUri.ShouldBe(UidUrl);
        _http.Received[1].Request.Headers.Authorization!.ToString().ShouldBe("Bearer " + accessToken);
        _http.Received[2].Request.Headers.Authorization!.ToString().ShouldBe("Bearer " + accessToken);

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
    public async Task A_token_answer_wrapped_in_result_is_read_as_Bybits_own_client_reads_it()
    {
        // modules/oauth.js: `const tokenData = tokenResp.result || tokenResp;` (and an error only when retCode != 0 and
        // there is no access_token).
        var accessToken = Jwt(uid: 42);
        ExpectLink(WrappedTokenResponse(accessToken), uid: 42);

        var grant = (await Provider().CompleteAuthorizationAsync(Completion("c"), default)).Value!;

        grant.AccountId.ShouldBe("42");
        grant.Credential.AccessToken.ShouldBe(accessToken);
        grant.Credential.RefreshToken.ShouldNotBeNull();
        grant.Credential.AccessTokenExpiresAt!.Value.ShouldBe(_clock.GetUtcNow().AddDays(1), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_refresh_answer_wrapped_in_result_is_read_too()
    {
        // modules/oauth.md, refresh: `const t=resp.result||resp;` and the stored refresh token is overwritten.
        var rotated = Jwt(exp: 1_950_000_000);
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, WrappedTokenResponse(Jwt(), rotated));

        var refreshed = (await Provider().RefreshAsync(new ProviderCredential { AccessToken = "old", RefreshToken = "rt-1" }, default)).Value!;

        refreshed.RefreshToken.ShouldBe(rotated);
    }

    [Fact]
    public async Task Without_expires_in_the_expiry_comes_from_the_token_itself()
    {
        ExpectLink(TokenResponse(Jwt(exp: 1_900_000_000), Jwt(exp: 1_902_000_000), withExpiry: false));

        var result = await Provider().CompleteAuthorizationAsync(Completion("c"), default);

        result.Value!.Credential.AccessTokenExpiresAt.ShouldBe(DateTimeOffset.FromUnixTimeSeconds(1_900_000_000));
        result.Value.Credential.RefreshTokenExpiresAt.ShouldBe(DateTimeOffset.FromUnixTimeSeconds(1_902_000_000));
    }

    [Theory]
    [InlineData("""{"access_token":"a","refresh_token":"r","expires_in":9223372036854775807,"refresh_token_expires_in":1e300}""")]
    [InlineData("""{"access_token":"a","refresh_token":"r","expires_in":"99999999999999999999","refresh_token_expires_in":-5}""")]
    public async Task Absurd_lifetimes_in_a_refresh_answer_are_clamped_and_never_throw_after_the_rotation(string body)
    {
        // security.md F11: a throw here comes after Bybit rotated the refresh token and before the new one is vaulted.
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, body);

        var refreshed = (await Provider().RefreshAsync(new ProviderCredential { AccessToken = "old", RefreshToken = "rt-1" }, default)).Value!;

        refreshed.RefreshToken.ShouldBe("r");
        refreshed.AccessTokenExpiresAt!.Value.ShouldBeLessThanOrEqualTo(_clock.GetUtcNow() + ProviderNumbers.MaxLifetime);
    }

    [Fact]
    public async Task An_absurd_exp_in_the_token_itself_is_clamped_too()
    {
        ExpectLink(TokenResponse(Jwt(exp: long.MaxValue), Jwt(exp: -1), withExpiry: false));

        var credential = (await Provider().CompleteAuthorizationAsync(Completion("c"), default)).Value!.Credential;

        credential.AccessTokenExpiresAt!.Value.ShouldBe(_clock.GetUtcNow() + ProviderNumbers.MaxLifetime, TimeSpan.FromSeconds(5));
        credential.RefreshTokenExpiresAt.ShouldBeNull();
    }

    [Theory]
    // Both envelope spellings exist (Bybit's client checks both); the JSON code is authoritative whatever the status.
    [InlineData("""{"retCode":10001,"retMsg":"code expired"}""", 200, ProviderFailureKind.InvalidGrant)]
    [InlineData("""{"ret_code":10001,"ret_msg":"code expired"}""", 400, ProviderFailureKind.InvalidGrant)]
    [InlineData("""{"retCode":"10003","retMsg":"invalid client"}""", 200, ProviderFailureKind.InvalidClient)]
    [InlineData("""{"retCode":20039,"retMsg":"bind 2fa"}""", 200, ProviderFailureKind.AccountNotEligible)]
    [InlineData("""{"retCode":12345,"retMsg":"other"}""", 200, ProviderFailureKind.Rejected)]
    [InlineData("""{"retCode":10001,"retMsg":"code expired","result":{}}""", 200, ProviderFailureKind.InvalidGrant)]
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

    [Theory]
    // modules/oauth.md: "retCode=10001/10004: refresh_token invalid or expired".
    [InlineData(10001)]
    [InlineData(10004)]
    public async Task Refresh_errors_are_worded_for_the_refresh_token_not_the_authorization_code(int code)
    {
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, "{\"retCode\":" + code + ",\"retMsg\":\"invalid\"}");

        var failure = (await Provider(o => o.RefreshClientSecret = BybitRefreshSecret.Send).RefreshAsync(new ProviderCredential { AccessToken = "old", RefreshToken = "rt-1" }, default)).Failure!;

        failure.Kind.ShouldBe(ProviderFailureKind.InvalidGrant);
        failure.Description.ShouldContain("refresh token");
        failure.Description.ShouldNotContain("authorization code");
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
    public async Task The_uid_comes_from_the_documented_uid_endpoint_in_either_shape_of_its_undocumented_field()
    {
        // Help centre phase 5 documents GET /oauth/v1/resource/restrict/uid_bearer with the access token as Bearer; the
        // field's name is not documented: result.uid (like the openapi envelope) or a top-level uid (third-party code).
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: null)))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, """{"ret_code":0,"ret_msg":"success","result":{"uid":555}}""")
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse)
             .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: null)))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, """{"ret_code":0,"ret_msg":"success","uid":"666"}""")
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse);

        var fromEnvelope = await Provider().CompleteAuthorizationAsync(Completion("c"), default);
        var fromTopLevel = await Provider().CompleteAuthorizationAsync(Completion("c"), default);

        fromEnvelope.Value!.AccountId.ShouldBe("555");
        fromTopLevel.Value!.AccountId.ShouldBe("666");
    }

    [Fact]
    public async Task By_default_the_uid_endpoint_is_asked_even_when_the_token_has_a_claim_and_the_two_must_agree()
    {
        // GrantMemberID shows only when decoding the guidance's sample token (HS256, unverifiable by the broker); the
        // endpoint is the documented way (help centre phase 5). A disagreement means one of them is not this user.
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: 111)))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, UidResponse(222));

        var result = await Provider().CompleteAuthorizationAsync(Completion("c"), default);

        result.Failure!.ProviderCode.ShouldBe("uid_mismatch");
        result.Failure.Kind.ShouldBe(ProviderFailureKind.InvalidResponse);
    }

    [Fact]
    public async Task A_uid_answer_without_a_recognisable_field_falls_back_to_the_claim_and_without_either_fails()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: 333)))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, """{"ret_code":0,"ret_msg":"success","result":{"member":{"id":333}}}""")
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse)
             .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: null)))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, """{"ret_code":0,"ret_msg":"success"}""");

        (await Provider().CompleteAuthorizationAsync(Completion("c"), default)).Value!.AccountId.ShouldBe("333");
        (await Provider().CompleteAuthorizationAsync(Completion("c"), default)).Failure!.ProviderCode.ShouldBe("no_uid");
    }

    [Fact]
    public async Task The_former_claim_first_reading_remains_selectable()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt(uid: 444)))
             .Expect(HttpMethod.Get, OpenApiUrl, HttpStatusCode.OK, OpenApiResponse);

        var grant = await Provider(o => o.AccountIdSource = BybitAccountIdSource.TokenClaimThenUidEndpoint).CompleteAuthorizationAsync(Completion("c"), default);

        grant.Value!.AccountId.ShouldBe("444");
        _http.Received.ShouldNotContain(r => r.Request.RequestUri!.AbsoluteUri == UidUrl);
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
    // modules/oauth.js reads a resource call's code as `retCode ?? ret_code`, and 20039 ("no 2FA") there is terminal.
    [InlineData("""{"ret_code":20039,"ret_msg":"please bind 2fa"}""", ProviderFailureKind.AccountNotEligible)]
    public async Task OpenAPI_key_failures_fail_the_whole_link(string body, ProviderFailureKind expected)
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, TokenResponse(Jwt()))
             .Expect(HttpMethod.Get, UidUrl, HttpStatusCode.OK, UidResponse(123456789))
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

    [Fact]
    public async Task Refresh_sends_the_token_once_and_a_refused_client_is_not_retried_with_the_other_reading()
    {
        // No document says 10003 leaves the refresh token unspent: sending it again without the secret could replay a
        // rotated token. The default reading sends the secret (a confidential client, RFC 6749 §6), once.
        _http.Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, """{"retCode":10003,"retMsg":"invalid client"}""")
             .Expect(HttpMethod.Post, RefreshUrl, HttpStatusCode.OK, TokenResponse(Jwt(), Jwt(exp: 1_950_000_000)));

        var refreshed = await Provider().RefreshAsync(new ProviderCredential { AccessToken = "old", RefreshToken = "rt-1" }, default);

        refreshed.Failure!.Kind.ShouldBe(ProviderFailureKind.InvalidClient);
        HttpUtility.ParseQueryString(_http.Received.Single().Body).AllKeys.ShouldBe(["client_id", "client_secret", "refresh_token"]);
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

        JsonSerializer.Serialize(grant.Credential).ShouldNotContain("nope");
        grant.Credential.Metadata.ShouldBeNull();
    }
}
