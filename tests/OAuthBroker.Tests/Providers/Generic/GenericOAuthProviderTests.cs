using System.Net;
using System.Text;
using System.Web;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Generic;
using OAuthBroker.Providers.OAuth2;
using static OAuthBroker.Tests.Providers.Generic.GenericProviderSamples;

namespace OAuthBroker.Tests.Providers.Generic;

/// <summary>
/// Canned answers in the shapes the standards define: OpenID Connect Discovery 1.0 §3–4, RFC 8414 §3, RFC 6749
/// §2.3.1 (client authentication), §4.1.3–4.1.4 and §5.1–5.2 (token endpoint), RFC 7636 (PKCE), RFC 9207 (iss),
/// OpenID Connect Core §3.1.3.7 (ID token) and §5.3 (userinfo), RFC 7009 §2 (revocation).
/// </summary>
public sealed class GenericOAuthProviderTests
{
    private const string Rfc8414Discovery = "https://id.example.com/.well-known/oauth-authorization-server/tenant";
    private readonly StubHttp _http = new();

    private static string Metadata(bool iss = true, string issuer = Issuer) => GenericProviderSamples.Metadata(issuer, issParameterSupported: iss);

    private GenericOAuthProvider Provider(Action<GenericOAuthOptions>? configure = null) => GenericProviderSamples.Provider(_http, "p@ss word/+", configure);

    [Fact]
    public async Task Discovery_reads_OpenID_metadata_and_falls_back_to_RFC_8414()
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.NotFound, "{}").Expect(HttpMethod.Get, Rfc8414Discovery, HttpStatusCode.OK, Metadata());

        var url = (await Provider().BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, "ch", "n0nce"), default)).Value!;

        url.GetLeftPart(UriPartial.Path).ShouldBe(Issuer + "/authorize");
        var query = HttpUtility.ParseQueryString(url.Query);
        query["response_type"].ShouldBe("code");
        query["code_challenge"].ShouldBe("ch");
        query["code_challenge_method"].ShouldBe("S256");
        query["nonce"].ShouldBe("n0nce");
        query["scope"].ShouldBe("openid profile");
    }

    [Fact]
    public async Task Metadata_naming_another_issuer_is_refused()
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata(issuer: "https://evil.example.com"));

        var result = await Provider().BuildAuthorizationUrlAsync(new AuthorizationRequest("st", Callback, null, "n"), default);

        result.Failure!.Kind.ShouldBe(ProviderFailureKind.IssuerMismatch);
    }

    [Fact]
    public async Task The_iss_parameter_is_checked_when_sent_and_required_when_advertised()
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata(iss: true));
        var provider = Provider();
        var empty = new Dictionary<string, string>();

        (await provider.CheckAuthorizationResponseAsync(new AuthorizationResponse(Issuer, empty), default)).ShouldBeNull();
        (await provider.CheckAuthorizationResponseAsync(new AuthorizationResponse("https://other.example.com", empty), default))!.Kind.ShouldBe(ProviderFailureKind.IssuerMismatch);
        (await provider.CheckAuthorizationResponseAsync(new AuthorizationResponse(null, empty), default))!.ProviderCode.ShouldBe("iss_missing");
    }

    [Fact]
    public async Task Client_secret_basic_form_encodes_before_base64_as_RFC_6749_says()
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata()).Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken()));

        var grant = (await Provider().CompleteAuthorizationAsync(Completion(), default)).Value!;

        var (request, body) = _http.Received[1];
        Encoding.UTF8.GetString(Convert.FromBase64String(request.Headers.Authorization!.Parameter!)).ShouldBe("client+id:p%40ss+word%2F%2B");
        var form = HttpUtility.ParseQueryString(body);
        form["grant_type"].ShouldBe("authorization_code");
        form["redirect_uri"].ShouldBe(Callback.AbsoluteUri);
        form["code_verifier"].ShouldBe("v3rifier");
        form["client_secret"].ShouldBeNull();
        grant.AccountId.ShouldBe("248289761001");
        grant.AccountDisplayName.ShouldBe("Jane Doe");
        grant.Credential.RefreshToken.ShouldBe("8xLOxBtZp8");
    }

    [Fact]
    public async Task Client_secret_post_puts_the_credentials_in_the_body()
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata()).Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken()));

        await Provider(o => o.ClientAuthentication = ClientAuthenticationMethod.ClientSecretPost).CompleteAuthorizationAsync(Completion(), default);

        _http.Received[1].Request.Headers.Authorization.ShouldBeNull();
        HttpUtility.ParseQueryString(_http.Received[1].Body)["client_secret"].ShouldBe("p@ss word/+");
    }

    [Theory]
    [InlineData("other-nonce", "client id", Issuer)]
    [InlineData("n0nce", "someone else", Issuer)]
    [InlineData("n0nce", "client id", "https://evil.example.com")]
    public async Task An_ID_token_for_another_flow_client_or_issuer_is_refused(string nonce, string aud, string iss)
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata()).Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(new() { ["nonce"] = nonce, ["aud"] = aud, ["iss"] = iss })));

        var result = await Provider().CompleteAuthorizationAsync(Completion(), default);

        result.Failure!.ProviderCode.ShouldBe("invalid_id_token");
    }

    [Fact]
    public async Task An_expired_ID_token_is_refused()
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata())
             .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(new() { ["exp"] = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds() })));

        (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!.ProviderCode.ShouldBe("invalid_id_token");
    }

    [Fact]
    public async Task Without_an_ID_token_the_account_comes_from_a_userinfo_field()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(null))
             .Expect(HttpMethod.Get, UserinfoUrl, HttpStatusCode.OK, """{"data":{"user":{"id":42,"login":"octo"}}}""");

        var grant = (await Provider(o =>
        {
            o.UseDiscovery = false;
            o.AuthorizationEndpoint = Issuer + "/authorize";
            o.TokenEndpoint = TokenUrl;
            o.UserinfoEndpoint = UserinfoUrl;
            o.Scopes = ["read"];
            o.AccountIdClaim = "data.user.id";
            o.DisplayNameClaim = "data.user.login";
        }).CompleteAuthorizationAsync(Completion(), default)).Value!;

        grant.AccountId.ShouldBe("42");
        grant.AccountDisplayName.ShouldBe("octo");
        _http.Received[1].Request.Headers.Authorization!.ToString().ShouldBe("Bearer SlAV32hkKG");
    }

    [Theory]
    [InlineData(400, """{"error":"invalid_grant"}""", ProviderFailureKind.InvalidGrant)]
    [InlineData(401, """{"error":"invalid_client"}""", ProviderFailureKind.InvalidClient)]
    [InlineData(400, """{"error":"unauthorized_client"}""", ProviderFailureKind.InvalidClient)]
    [InlineData(400, """{"error":"invalid_scope"}""", ProviderFailureKind.Rejected)]
    [InlineData(503, """{"error":"temporarily_unavailable"}""", ProviderFailureKind.Unavailable)]
    [InlineData(200, """{"token_type":"Bearer"}""", ProviderFailureKind.InvalidResponse)]
    [InlineData(200, """not json""", ProviderFailureKind.InvalidResponse)]
    public async Task Token_endpoint_errors_follow_RFC_6749_section_5_2(int status, string body, ProviderFailureKind expected)
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata()).Expect(HttpMethod.Post, TokenUrl, (HttpStatusCode)status, body);

        (await Provider().CompleteAuthorizationAsync(Completion(), default)).Failure!.Kind.ShouldBe(expected);
    }

    [Fact]
    public async Task Revocation_follows_RFC_7009_refresh_token_first_and_503_means_try_later()
    {
        _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata())
             .Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.OK, "")
             .Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.OK, "")
             .Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.ServiceUnavailable, "", "text/plain", r => r.Headers.RetryAfter = new(TimeSpan.FromSeconds(9)));
        var provider = Provider();

        (await provider.RevokeAsync(new ProviderCredential { AccessToken = "at", RefreshToken = "rt" }, default)).Status.ShouldBe(RevocationStatus.Revoked);
        HttpUtility.ParseQueryString(_http.Received[1].Body)["token_type_hint"].ShouldBe("refresh_token");
        HttpUtility.ParseQueryString(_http.Received[2].Body)["token_type_hint"].ShouldBe("access_token");

        var later = await provider.RevokeAsync(new ProviderCredential { AccessToken = "at" }, default);
        later.Status.ShouldBe(RevocationStatus.Unavailable);
        later.RetryAfter.ShouldBe(TimeSpan.FromSeconds(9));
    }

    [Fact]
    public async Task Without_a_revocation_endpoint_unlink_says_the_provider_cannot_revoke()
    {
        var provider = Provider(o =>
        {
            o.UseDiscovery = false;
            o.AuthorizationEndpoint = Issuer + "/authorize";
            o.TokenEndpoint = TokenUrl;
        });

        (await provider.RevokeAsync(new ProviderCredential { AccessToken = "at" }, default)).Status.ShouldBe(RevocationStatus.NotSupportedByProvider);
    }

    [Fact]
    public void Options_report_every_problem_at_once()
    {
        var errors = new GenericOAuthOptions { UseDiscovery = true, AuthorizationEndpoint = "http://id.example.com/authorize", AccountIdClaim = "" }.Validate("Providers:x").ToList();

        errors.ShouldContain(e => e.Contains("ClientId", StringComparison.Ordinal));
        errors.ShouldContain(e => e.Contains("Issuer is required", StringComparison.Ordinal));
        errors.ShouldContain(e => e.Contains("AuthorizationEndpoint must be", StringComparison.Ordinal));
        errors.ShouldContain(e => e.Contains("AccountIdClaim", StringComparison.Ordinal));
    }
}
