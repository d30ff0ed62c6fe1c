using System.Net;
using System.Text.Json;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Generic;
using static OAuthBroker.Tests.Providers.Generic.GenericProviderSamples;

namespace OAuthBroker.Tests.Providers.Generic;

/// <summary>
/// The standard dialect against the texts it follows: OpenID Connect Core §3.1.2.1 (openid), §3.1.3.7 (iss, aud, azp,
/// exp), §5.3.2 and §5.4 (userinfo and where profile claims live); OpenID Connect Discovery §3–4 and RFC 8414 §2–3
/// (metadata: https endpoints, the issuer); RFC 7009 §2.2–2.2.1 (only a 200 revokes; invalid_client may be a 400).
/// </summary>
public sealed class GenericProviderDocumentTests
{
    private readonly StubHttp _http = new();

    private GenericOAuthProvider Provider(Action<GenericOAuthOptions>? configure = null) => GenericProviderSamples.Provider(_http, "s", configure);

    private StubHttp WithMetadata(string? metadata = null) => _http.Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, metadata ?? Metadata());

    [Fact]
    public void An_ID_token_account_without_the_openid_scope_is_a_configuration_error_not_a_crash()
    {
        // OpenID Connect Core §3.1.2.1: an ID token is only issued when the openid scope is requested.
        var errors = new GenericOAuthOptions { Issuer = Issuer, ClientId = "a", ClientSecret = "b", Scopes = ["profile"], AccountIdSource = AccountIdSource.IdToken }.Validate("Providers:x").ToList();

        errors.ShouldHaveSingleItem().ShouldContain("AccountIdSource IdToken needs the openid scope");
    }

    [Fact]
    public void The_openid_scope_needs_an_issuer_to_check_the_ID_token_against()
    {
        // §3.1.3.7 item 2: "The Issuer Identifier ... MUST exactly match the value of the iss (issuer) Claim."
        var errors = new GenericOAuthOptions { ClientId = "a", ClientSecret = "b", Scopes = ["openid"], AuthorizationEndpoint = Issuer + "/authorize", TokenEndpoint = TokenUrl }.Validate("Providers:x").ToList();

        errors.ShouldHaveSingleItem().ShouldContain("Issuer is required with the openid scope");
    }

    [Fact]
    public void A_metadata_URL_without_an_issuer_must_be_a_well_known_one_so_it_names_the_issuer()
    {
        new GenericOAuthOptions { ClientId = "a", ClientSecret = "b", Scopes = ["openid"], DiscoveryUrl = OidcDiscovery }.Validate("p").ShouldBeEmpty();
        new GenericOAuthOptions { ClientId = "a", ClientSecret = "b", DiscoveryUrl = "https://id.example.com/.well-known/oauth-authorization-server/tenant" }.Validate("p").ShouldBeEmpty();
        new GenericOAuthOptions { ClientId = "a", ClientSecret = "b", DiscoveryUrl = "https://id.example.com/config.json" }.Validate("p")
            .ShouldContain(e => e.Contains("well-known metadata URL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_configured_issuer_the_ID_tokens_iss_is_checked_against_the_discovered_one()
    {
        // Discovery §4.3: the issuer in the document must be the one the well-known URL was built from; the ID token's iss
        // must then be that issuer (Core §3.1.3.7 item 2).
        WithMetadata().Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(new() { ["iss"] = "https://evil.example.com" })));

        var result = await Provider(o => { o.Issuer = null; o.DiscoveryUrl = OidcDiscovery; }).CompleteAuthorizationAsync(Completion(), default);

        result.Failure!.ProviderCode.ShouldBe("invalid_id_token");
        result.Failure.Description.ShouldContain("(iss)");
    }

    [Fact]
    public async Task Without_a_configured_issuer_a_document_for_another_issuer_is_refused()
    {
        WithMetadata(Metadata(issuer: "https://other.example.com/tenant"));

        var result = await Provider(o => { o.Issuer = null; o.DiscoveryUrl = OidcDiscovery; }).BuildAuthorizationUrlAsync(new AuthorizationRequest("s", Callback, "c", "n"), default);

        result.Failure!.Kind.ShouldBe(ProviderFailureKind.IssuerMismatch);
    }

    [Fact]
    public async Task The_display_name_comes_from_userinfo_when_the_ID_token_has_none()
    {
        // Core §5.4: the profile scope's claims "are returned from the UserInfo Endpoint" in the code flow.
        WithMetadata()
            .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(withName: false)))
            .Expect(HttpMethod.Get, UserinfoUrl, HttpStatusCode.OK, """{"sub":"248289761001","name":"Jane Doe","preferred_username":"jane"}""");

        var grant = (await Provider().CompleteAuthorizationAsync(Completion(), default)).Value!;

        grant.AccountId.ShouldBe("248289761001");
        grant.AccountDisplayName.ShouldBe("Jane Doe");
        _http.Received[2].Request.Headers.Authorization!.ToString().ShouldBe("Bearer SlAV32hkKG");
    }

    [Theory]
    [InlineData(HttpStatusCode.OK, """{"sub":"someone-else","name":"Mallory"}""")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "")]
    public async Task A_userinfo_answer_for_another_subject_or_none_leaves_the_name_empty_but_links(HttpStatusCode status, string body)
    {
        // Core §5.3.2: if the sub values do not match, "the UserInfo Response values MUST NOT be used".
        WithMetadata()
            .Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(withName: false)))
            .Expect(HttpMethod.Get, UserinfoUrl, status, body);

        var grant = (await Provider().CompleteAuthorizationAsync(Completion(), default)).Value!;

        grant.AccountId.ShouldBe("248289761001");
        grant.AccountDisplayName.ShouldBeNull();
    }

    [Fact]
    public async Task An_ID_token_with_a_name_needs_no_userinfo_call()
    {
        WithMetadata().Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken()));

        (await Provider().CompleteAuthorizationAsync(Completion(), default)).Value!.AccountDisplayName.ShouldBe("Jane Doe");
        _http.Received.Count.ShouldBe(2);
    }

    [Theory]
    // §3.1.3.7 items 4–5: several audiences want an azp, and a present azp must be this client.
    [InlineData("""["client id","other"]""", null, "azp")]
    [InlineData("\"client id\"", "someone-else", "azp")]
    [InlineData("""["client id","other"]""", "client id", null)]
    [InlineData("""["client id",42,{"x":1}]""", "client id", null)]
    public async Task The_authorized_party_is_checked(string audJson, string? azp, string? problem)
    {
        var overrides = new Dictionary<string, object> { ["aud"] = JsonDocument.Parse(audJson).RootElement };
        if (azp is not null)
        {
            overrides["azp"] = azp;
        }

        WithMetadata().Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(overrides)));

        var result = await Provider().CompleteAuthorizationAsync(Completion(), default);

        if (problem is null)
        {
            result.Succeeded.ShouldBeTrue();
        }
        else
        {
            result.Failure!.Description.ShouldContain($"({problem})");
        }
    }

    [Theory]
    [InlineData(9223372036854775807L)]
    [InlineData(-1L)]
    public async Task An_absurd_exp_never_throws(long exp)
    {
        // security.md F11: DateTimeOffset.FromUnixTimeSeconds throws outside its range.
        WithMetadata().Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(new() { ["exp"] = exp })));

        var result = await Provider().CompleteAuthorizationAsync(Completion(), default);

        if (exp < 0)
        {
            result.Failure!.Description.ShouldContain("(exp)");
        }
        else
        {
            result.Succeeded.ShouldBeTrue();
        }
    }

    [Fact]
    public async Task An_absurd_expires_in_on_refresh_is_clamped_and_the_rotated_token_survives()
    {
        WithMetadata().Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, """{"access_token":"a","refresh_token":"rotated","expires_in":1e308,"refresh_expires_in":9223372036854775807}""");

        var refreshed = (await Provider().RefreshAsync(new ProviderCredential { AccessToken = "old", RefreshToken = "r" }, default)).Value!;

        refreshed.RefreshToken.ShouldBe("rotated");
        refreshed.AccessTokenExpiresAt.ShouldNotBeNull();
        refreshed.RefreshTokenExpiresAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task An_unsolicited_ID_token_is_ignored_when_openid_was_not_requested()
    {
        _http.Expect(HttpMethod.Post, TokenUrl, HttpStatusCode.OK, Tokens(IdToken(new() { ["sub"] = "from-unbound-token" })))
             .Expect(HttpMethod.Get, UserinfoUrl, HttpStatusCode.OK, """{"sub":"from-userinfo","name":"U"}""");

        var grant = (await Provider(o =>
        {
            o.Issuer = null;
            o.AuthorizationEndpoint = Issuer + "/authorize";
            o.TokenEndpoint = TokenUrl;
            o.UserinfoEndpoint = UserinfoUrl;
            o.Scopes = ["profile"];
        }).CompleteAuthorizationAsync(Completion(), default)).Value!;

        grant.AccountId.ShouldBe("from-userinfo");
    }

    [Theory]
    // RFC 7009 §2.2.1 / RFC 6749 §5.2: invalid_client is 401 with Basic, or 400 with the credentials in the body.
    [InlineData(400, """{"error":"invalid_client"}""", "operator must fix")]
    [InlineData(401, """{"error":"invalid_client"}""", "operator must fix")]
    [InlineData(400, """{"error":"unauthorized_client"}""", "operator must fix")]
    [InlineData(403, "", "may still be live")]
    [InlineData(400, """{"error":"invalid_request"}""", "may still be live")]
    public async Task A_revocation_that_is_not_a_200_is_refused_and_says_what_to_do(int status, string body, string detail)
    {
        WithMetadata().Expect(HttpMethod.Post, RevokeUrl, (HttpStatusCode)status, body);

        var result = await Provider().RevokeAsync(new ProviderCredential { AccessToken = "at", RefreshToken = "rt" }, default);

        result.Status.ShouldBe(RevocationStatus.Refused);
        result.Detail.ShouldContain(detail);
        _http.Received.Count.ShouldBe(2, "a refused refresh-token revocation stops there");
    }

    [Fact]
    public async Task An_access_token_the_server_cannot_revoke_does_not_undo_a_revoked_grant()
    {
        // §2.2.1 unsupported_token_type: "The authorization server does not support the revocation of the presented token type."
        WithMetadata()
            .Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.OK, "")
            .Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.BadRequest, """{"error":"unsupported_token_type"}""")
            .Expect(HttpMethod.Post, RevokeUrl, HttpStatusCode.BadRequest, """{"error":"unsupported_token_type"}""");
        var provider = Provider();

        var grant = await provider.RevokeAsync(new ProviderCredential { AccessToken = "at", RefreshToken = "rt" }, default);
        grant.Status.ShouldBe(RevocationStatus.Revoked);
        grant.Detail.ShouldContain("stays valid until it expires");

        var accessOnly = await provider.RevokeAsync(new ProviderCredential { AccessToken = "at" }, default);
        accessOnly.Status.ShouldBe(RevocationStatus.NoLongerPossible);
    }

    [Fact]
    public async Task Metadata_pointing_an_https_issuers_endpoints_at_loopback_http_is_refused()
    {
        // security.md F9: the client secret would be posted to the broker's own host. Discovery §3: endpoints are https URLs.
        WithMetadata(Metadata(token: "http://127.0.0.1:7071/api/links"));

        var result = await Provider().BuildAuthorizationUrlAsync(new AuthorizationRequest("s", Callback, "c", "n"), default);

        result.Failure!.ProviderCode.ShouldBe("metadata_refused");
        result.Failure.Description.ShouldContain("token_endpoint");
        _http.Received.ShouldHaveSingleItem("nothing is sent to a refused endpoint");
    }

    [Fact]
    public async Task Metadata_pointing_endpoints_at_another_host_is_refused_unless_that_host_is_allowed()
    {
        WithMetadata(Metadata(revoke: "https://collector.example.net/revoke")).Expect(HttpMethod.Get, OidcDiscovery, HttpStatusCode.OK, Metadata(revoke: "https://collector.example.net/revoke"));

        (await Provider().BuildAuthorizationUrlAsync(new AuthorizationRequest("s", Callback, "c", "n"), default)).Failure!.ProviderCode.ShouldBe("metadata_refused");
        (await Provider(o => o.AllowedEndpointHosts = ["collector.example.net"]).BuildAuthorizationUrlAsync(new AuthorizationRequest("s", Callback, "c", "n"), default)).Succeeded.ShouldBeTrue();
    }

    [Fact]
    public void Loopback_http_endpoints_are_accepted_only_for_a_loopback_issuer()
    {
        var local = new MetadataEndpointPolicy(new GenericOAuthOptions { Issuer = "http://127.0.0.1:7080/oidc/alpha" });
        local.Refusal(new Uri("http://127.0.0.1:7080/oidc/alpha/token")).ShouldBeNull();

        var remote = new MetadataEndpointPolicy(new GenericOAuthOptions { Issuer = Issuer });
        remote.Refusal(new Uri("http://127.0.0.1:7080/token")).ShouldNotBeNull();
        remote.Refusal(new Uri("http://id.example.com/tenant/token")).ShouldNotBeNull();
        remote.Refusal(new Uri(TokenUrl)).ShouldBeNull();
    }

    [Fact]
    public void Hosts_of_endpoints_configured_by_hand_are_allowed_in_metadata_too()
    {
        var policy = new MetadataEndpointPolicy(new GenericOAuthOptions { Issuer = "https://login.example.com/t/v2.0", UserinfoEndpoint = "https://graph.example.com/oidc/userinfo" });

        policy.Refusal(new Uri("https://graph.example.com/oidc/userinfo")).ShouldBeNull();
    }

    [Fact]
    public void Allowed_endpoint_hosts_must_be_host_names()
    {
        new GenericOAuthOptions { Issuer = Issuer, ClientId = "a", ClientSecret = "b", AllowedEndpointHosts = ["https://x.example.com/"] }.Validate("p")
            .ShouldContain(e => e.Contains("AllowedEndpointHosts", StringComparison.Ordinal));
    }

    [Fact]
    public void Both_well_known_locations_are_built_as_the_specifications_say()
    {
        WellKnown.OpenIdConfigurationOf(new Uri("https://id.example.com/tenant/")).AbsoluteUri.ShouldBe("https://id.example.com/tenant/.well-known/openid-configuration");
        // RFC 8414 §3.1: inserted between the host and the path.
        WellKnown.OAuthAuthorizationServerOf(new Uri(Issuer)).AbsoluteUri.ShouldBe("https://id.example.com/.well-known/oauth-authorization-server/tenant");
        WellKnown.IssuerOf("https://id.example.com/.well-known/oauth-authorization-server/tenant").ShouldBe(Issuer);
        WellKnown.IssuerOf(OidcDiscovery).ShouldBe(Issuer);
    }
}
