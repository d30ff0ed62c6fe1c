using System.Net;
using System.Text;
using System.Web;
using Microsoft.Extensions.Logging.Abstractions;
using OAuthBroker.Providers;
using OAuthBroker.Providers.BuiltByBit;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.OAuth2;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Providers.BuiltByBit;

/// <summary>
/// BuiltByBit beyond the happy path: a 403 at the token endpoint (wiki: the API token behind the client must be enabled and
/// have a Project name), Retry-After on every endpoint in both units (the official wrappers read milliseconds), and every
/// revocation answer (spec.yaml documents only 200 {"revoked": boolean}; RFC 7009 §2.2 counts only a 200).
/// </summary>
public sealed class BuiltByBitRevocationAndLimitsTests
{
    private const string TokenUrl = "https://api.builtbybit.com/oauth2/token";
    private const string RevokeUrl = "https://api.builtbybit.com/oauth2/token/revoke";
    private const string SelfUrl = "https://api.builtbybit.com/v2/members/self";
    private const string Tokens = """{ "access_token": "bbb_at_7f3c", "expires_in": 3600, "refresh_token": "bbb_rt_91aa", "scope": "members.self", "token_type": "Bearer" }""";
    private static readonly Uri Callback = new("https://broker.example.com/api/oauth/builtbybit/callback");
    private readonly StubHttp _http = new();

    private BuiltByBitProvider Provider(Action<BuiltByBitOptions>? configure = null)
    {
        var options = new BuiltByBitOptions { ClientId = "client 1", ClientSecret = "s3cr/t+=" };
        configure?.Invoke(options);
        options.Validate("Providers:builtbybit").ShouldBeEmpty();
        return new BuiltByBitProvider("builtbybit", options, new ProviderHttpClient(_http, NullLogger<ProviderHttpClient>.Instance), new ManualClock(), NullLogger<BuiltByBitProvider>.Instance);
    }

    private static AuthorizationCompletion Completion() => new("c0de", Callback, null, "n", new AuthorizationResponse(null, new Dictionary<string, string>()));

    [Theory]
    // The wiki: the client credentials "are tied to the token (meaning the token's enabled scopes & disabled status)", and
    // "You are required to set the token's 'Project name' for authorization requests to proceed". An operator's problem.
    [InlineData("""{"result":"error","error":{"code":"Forbidden","message":"token disabled"}}""")]
    [InlineData("""{"result":"error","error":{"code":"ProjectNameRequired","message":"set a project name"}}""")]
    [InlineData("<html>forbidden</html>")]
    public async Task A_403_at_the_token_endpoint_is_the_operators_problem_not_an_invalid_grant(string body)
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.Forbidden, body);

        var failure = (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!;

        failure.Kind.ShouldBe(body.StartsWith('<') ? ProviderFailureKind.InvalidResponse : ProviderFailureKind.InvalidClient);
    }

    [Fact]
    public async Task A_403_on_refresh_pauses_the_provider_instead_of_asking_the_user_to_reconnect()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.Forbidden, """{"result":"error","error":{"code":"Forbidden","message":"no ultimate"}}""");

        (await Provider().RefreshAsync(new ProviderCredential { AccessToken = "a", RefreshToken = "r" }, default)).Failure!.Kind.ShouldBe(ProviderFailureKind.InvalidClient);
    }

    [Fact]
    public async Task Retry_After_on_members_self_is_read_in_milliseconds_too()
    {
        // The official wrappers treat Retry-After as milliseconds; read as seconds 1500 would be 25 minutes.
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens)
             .Expect(HttpMethod.Get, SelfUrl, (HttpStatusCode)429, "", "text/plain", r => r.Headers.TryAddWithoutValidation("Retry-After", "1500"));

        var failure = (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!;

        failure.Kind.ShouldBe(ProviderFailureKind.RateLimited);
        failure.RetryAfter.ShouldBe(TimeSpan.FromMilliseconds(1500));
    }

    [Theory]
    [InlineData(429, "2500", 2500)]
    [InlineData(503, "3", 3000)]
    public async Task Retry_After_on_the_token_endpoint_is_read_both_ways(int status, string header, int expectedMilliseconds)
    {
        _http.Expect(HttpMethod.Post, TokenUrl, (HttpStatusCode)status, "", "text/plain", r => r.Headers.TryAddWithoutValidation("Retry-After", header));

        (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!.RetryAfter.ShouldBe(TimeSpan.FromMilliseconds(expectedMilliseconds));
    }

    [Theory]
    [InlineData("1e300")]
    [InlineData("Fri, 31 Dec 9999 23:59:59 GMT")]
    public void An_absurd_Retry_After_is_clamped_and_never_throws(string raw)
    {
        BuiltByBitRetryAfter.Interpret(raw).ShouldBe(ProviderNumbers.MaxWait);
    }

    [Fact]
    public async Task Revoked_false_is_refused_and_says_what_to_do()
    {
        // spec.yaml, /oauth2/token/revoke: 200 {"revoked": boolean}; false is the documented "not revoked".
        _http.Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.OK, """{"revoked":false}""");

        var result = await Provider().RevokeAsync(new ProviderCredential { AccessToken = "at", RefreshToken = "rt" }, default);

        result.Status.ShouldBe(RevocationStatus.Refused);
        result.Detail.ShouldContain("BuiltByBit account");
        _http.Received.Count.ShouldBe(1, "the refresh token's answer decides; the access token is not tried after a refusal");
    }

    [Theory]
    [InlineData(400, """{"result":"error","error":{"code":"BadRequest","message":"x"}}""")]
    [InlineData(401, """{"result":"error","error":{"code":"Unauthorized","message":"bad client"}}""")]
    [InlineData(403, """{"result":"error","error":{"code":"Forbidden","message":"token disabled"}}""")]
    [InlineData(404, "")]
    public async Task Any_4xx_on_revocation_is_refused_never_revoked(int status, string body)
    {
        // Only "200 | OK" is documented (Oauth2Api getOauth2TokenRevoke); RFC 7009 §2.2 likewise counts only a 200.
        _http.Expect(HttpMethod.Post, RevokeUrl, (HttpStatusCode)status, body);

        var result = await Provider().RevokeAsync(new ProviderCredential { AccessToken = "at" }, default);

        result.Status.ShouldBe(RevocationStatus.Refused);
        result.Detail.ShouldContain("may still be live");
    }

    [Fact]
    public async Task A_200_without_the_flag_is_revoked_as_the_specs_default_says()
    {
        _http.Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.OK, "{}");

        (await Provider().RevokeAsync(new ProviderCredential { AccessToken = "at" }, default)).Status.ShouldBe(RevocationStatus.Revoked);
    }

    [Fact]
    public async Task A_5xx_on_revocation_is_unavailable_with_its_wait()
    {
        _http.Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.BadGateway, "", "text/plain", r => r.Headers.TryAddWithoutValidation("Retry-After", "4000"));

        var result = await Provider().RevokeAsync(new ProviderCredential { AccessToken = "at" }, default);

        result.Status.ShouldBe(RevocationStatus.Unavailable);
        result.RetryAfter.ShouldBe(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task The_RFC_6749_form_encoded_Basic_header_is_a_configurable_reading()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.BadRequest, """{"error":"invalid_grant"}""");

        await Provider(o => o.ClientAuthentication = ClientAuthenticationMethod.ClientSecretBasic).CompleteAuthorizationAsync(Completion(), default);

        Encoding.UTF8.GetString(Convert.FromBase64String(_http.Received[0].Request.Headers.Authorization!.Parameter!)).ShouldBe("client+1:s3cr%2Ft%2B%3D");
        new BuiltByBitOptions { ClientId = "a", ClientSecret = "b", ClientAuthentication = ClientAuthenticationMethod.ClientSecretPost }.Validate("p").ShouldHaveSingleItem();
    }

    [Fact]
    public async Task An_authorize_URL_with_a_query_is_extended_not_broken()
    {
        var url = (await Provider(o => o.AuthorizeUrl = "https://builtbybit.com/account/external/authorize?x=1").BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, null, "n"), default)).Value!;

        url.AbsoluteUri.ShouldNotContain("??");
        HttpUtility.ParseQueryString(url.Query)["x"].ShouldBe("1");
    }
}
