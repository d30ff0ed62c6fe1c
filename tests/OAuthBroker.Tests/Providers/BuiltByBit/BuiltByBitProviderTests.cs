using System.Net;
using System.Text;
using System.Web;
using Microsoft.Extensions.Logging.Abstractions;
using OAuthBroker.Providers;
using OAuthBroker.Providers.BuiltByBit;
using OAuthBroker.Providers.Http;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Providers.BuiltByBit;

/// <summary>
/// Canned BuiltByBit answers reproducing the documented shapes: https://builtbybit.com/wiki/oauth2/ and the OpenAPI
/// spec (BuiltByBit/api-openapi-spec spec.yaml: /oauth2/token, /oauth2/token/revoke, components.responses.Error), the
/// generated wrappers' Oauth2Api (token and revoke, "200 | OK"; getOauth2TokenRevoke) and their Member and
/// GetV2MembersSelf200Response models, and the official JS/Rust wrappers' Retry-After in milliseconds.
/// </summary>
public sealed class BuiltByBitProviderTests
{
    private const string TokenUrl = "https://api.builtbybit.com/oauth2/token";
    private const string RevokeUrl = "https://api.builtbybit.com/oauth2/token/revoke";
    private const string SelfUrl = "https://api.builtbybit.com/v2/members/self";
    private static readonly Uri Callback = new("https://broker.example.com/api/oauth/builtbybit/callback");
    private readonly StubHttp _http = new();

    private BuiltByBitProvider Provider(Action<BuiltByBitOptions>? configure = null)
    {
        var options = new BuiltByBitOptions { ClientId = "client 1", ClientSecret = "s3cr/t+=" };
        configure?.Invoke(options);
        return new BuiltByBitProvider("builtbybit", options, new ProviderHttpClient(_http, NullLogger<ProviderHttpClient>.Instance), new ManualClock(), NullLogger<BuiltByBitProvider>.Instance);
    }

    private static AuthorizationCompletion Completion(string code = "c0de", string? verifier = null) =>
        new(code, Callback, verifier, "n", new AuthorizationResponse(null, new Dictionary<string, string>()));

    // spec.yaml /oauth2/token 200 (GetOauth2Token200Response): flat.
    private const string Tokens = """{ "access_token": "bbb_at_7f3c", "expires_in": 3600, "refresh_token": "bbb_rt_91aa", "scope": "members.self", "token_type": "Bearer" }""";

    // getV2MembersSelf 200 (GetV2MembersSelf200Response, Member).
    private const string Self = """{ "result": "success", "data": { "self": { "user_id": "12345", "username": "alice", "registered_at": "1700000000", "avatar_url": "https://x/a.png" } } }""";

    [Fact]
    public async Task Authorize_sends_the_standard_parameters_and_at_least_one_scope()
    {
        var url = (await Provider().BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, null, "n"), default)).Value!;
        url.GetLeftPart(UriPartial.Path).ShouldBe("https://builtbybit.com/account/external/authorize");
        var query = HttpUtility.ParseQueryString(url.Query);
        query.AllKeys.ShouldBe(["client_id", "response_type", "redirect_uri", "scope", "state"]);
        query["scope"].ShouldBe("members.self");

        var withPkce = (await Provider(o => o.Pkce = true).BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, "ch", "n"), default)).Value!;
        HttpUtility.ParseQueryString(withPkce.Query)["code_challenge_method"].ShouldBe("S256");
    }

    [Fact]
    public async Task The_exchange_uses_Basic_over_the_raw_id_and_secret_and_reads_identity_from_members_self()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens).Expect(HttpMethod.Get, SelfUrl, HttpStatusCode.OK, Self);

        var grant = (await Provider().CompleteAuthorizationAsync(Completion(), default)).Value!;

        var (token, body) = _http.Received[0];
        token.Headers.Authorization!.Scheme.ShouldBe("Basic");
        // Raw: "client 1:s3cr/t+=" — not the RFC 6749 §2.3.1 form-encoded "client+1:s3cr%2Ft%2B%3D".
        Encoding.UTF8.GetString(Convert.FromBase64String(token.Headers.Authorization.Parameter!)).ShouldBe("client 1:s3cr/t+=");
        var form = HttpUtility.ParseQueryString(body);
        form["grant_type"].ShouldBe("authorization_code");
        form["code"].ShouldBe("c0de");
        form["redirect_uri"].ShouldBe(Callback.AbsoluteUri);
        form["client_secret"].ShouldBeNull();
        _http.Received[1].Request.Headers.Authorization!.ToString().ShouldBe("Bearer bbb_at_7f3c");

        grant.AccountId.ShouldBe("12345");
        grant.AccountDisplayName.ShouldBe("alice");
        grant.Credential.RefreshToken.ShouldBe("bbb_rt_91aa");
        grant.Scopes.ShouldBe(["members.self"]);
    }

    [Theory]
    [InlineData(400, """{"result":"error","error":{"code":"InvalidGrant","message":"bad code"}}""", ProviderFailureKind.InvalidGrant)]
    [InlineData(401, """{"result":"error","error":{"code":"Unauthorized","message":"bad client"}}""", ProviderFailureKind.InvalidClient)]
    [InlineData(400, """{"error":"invalid_grant"}""", ProviderFailureKind.InvalidGrant)]
    [InlineData(401, """{"error":"invalid_client"}""", ProviderFailureKind.InvalidClient)]
    [InlineData(200, """{"token_type":"Bearer"}""", ProviderFailureKind.InvalidResponse)]
    [InlineData(502, "<html>", ProviderFailureKind.Unavailable)]
    public async Task Token_errors_in_both_documented_shapes_map_to_outcomes(int status, string body, ProviderFailureKind expected)
    {
        _http.Expect(HttpMethod.Post, TokenUrl, (HttpStatusCode)status, body);
        (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!.Kind.ShouldBe(expected);
    }

    [Fact]
    public async Task Revocation_sends_token_and_token_hint_for_both_tokens()
    {
        _http.Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.OK, """{"revoked":true}""")
             .Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.OK, """{"revoked":true}""");

        var result = await Provider().RevokeAsync(new ProviderCredential { AccessToken = "at", RefreshToken = "rt" }, default);

        result.Status.ShouldBe(RevocationStatus.Revoked);
        HttpUtility.ParseQueryString(_http.Received[0].Body)["token_hint"].ShouldBe("refresh_token");
        HttpUtility.ParseQueryString(_http.Received[0].Body)["token"].ShouldBe("rt");
        HttpUtility.ParseQueryString(_http.Received[1].Body)["token_hint"].ShouldBe("access_token");
        _http.Received[0].Body.ShouldNotContain("token_type_hint");
    }

    [Fact]
    public async Task A_long_Retry_After_on_revocation_is_reported_not_waited_out()
    {
        _http.Expect(HttpMethod.Post, RevokeUrl, (HttpStatusCode)429, "", "text/plain", r => r.Headers.TryAddWithoutValidation("Retry-After", "30"));

        var result = await Provider().RevokeAsync(new ProviderCredential { AccessToken = "at" }, default);

        result.Status.ShouldBe(RevocationStatus.Unavailable);
        result.RetryAfter.ShouldBe(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("2", 2000)]
    [InlineData("300", 300_000)]
    [InlineData("1500", 1500)]
    [InlineData("60000", 60_000)]
    [InlineData("0", 0)]
    public void Retry_After_is_read_both_ways_never_too_short(string raw, int expectedMilliseconds)
    {
        BuiltByBitRetryAfter.Interpret(raw).ShouldBe(TimeSpan.FromMilliseconds(expectedMilliseconds));
        BuiltByBitRetryAfter.Interpret("soon").ShouldBeNull();
    }
}
