using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Generic;
using OAuthBroker.Providers.Http;
using OAuthBroker.Sandbox;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Sandbox;

/// <summary>
/// The OpenID Connect sandbox against the specifications: metadata at both well-known locations (OpenID Connect
/// Discovery §4, RFC 8414 §3), userinfo's sub equal to the ID token's (Core §5.3.2), audiences and azp (Core §2),
/// client authentication failures (RFC 6749 §5.2) and revocation errors (RFC 7009 §2.2.1).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class OidcSandboxTests(BrokerEnvironmentFixture fixture) : IDisposable
{
    private const string Client = "sandbox-acme-client";
    private readonly SandboxHttp _sandbox = new(fixture);

    private OidcTenant Alpha => fixture.SandboxOptions.Oidc.Tenants["alpha"];

    private string Issuer => new Uri(fixture.Environment.SandboxUri, "oidc/alpha").AbsoluteUri;

    public void Dispose() => _sandbox.Dispose();

    private async Task<JsonElement> TokensAsync(string account, string? roles = null)
    {
        var (verifier, challenge) = SandboxHttp.Pkce();
        var redirect = _sandbox.BrokerCallback("acme").AbsoluteUri;
        using var consent = await _sandbox.ConsentAsync(
            $"oidc/alpha/authorize?response_type=code&client_id={Client}&redirect_uri={Uri.EscapeDataString(redirect)}&scope=openid%20profile&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
            account, extra: new() { ["roles"] = roles ?? "" });
        using var token = await _sandbox.PostFormAsync("oidc/alpha/token", new()
        {
            ["grant_type"] = "authorization_code",
            ["code"] = _sandbox.CodeOf(consent),
            ["redirect_uri"] = redirect,
            ["code_verifier"] = verifier,
            ["client_id"] = Client,
            ["client_secret"] = fixture.AcmeClientSecret,
        });
        token.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await _sandbox.JsonAsync(token);
    }

    private static JsonElement Claims(JsonElement tokens)
    {
        using var claims = JwtPayload.TryRead(tokens.GetProperty("id_token").GetString())!;
        return claims.RootElement.Clone();
    }

    [Fact]
    public async Task Metadata_is_served_at_both_well_known_locations_naming_the_same_issuer()
    {
        using var openId = await _sandbox.GetAsync("oidc/alpha/.well-known/openid-configuration");
        // RFC 8414 §3.1: "/.well-known/oauth-authorization-server" inserted between the host and the issuer's path.
        using var rfc8414 = await _sandbox.GetAsync(".well-known/oauth-authorization-server/oidc/alpha");

        (await _sandbox.JsonAsync(openId)).GetProperty("issuer").GetString().ShouldBe(Issuer);
        var metadata = await _sandbox.JsonAsync(rfc8414);
        metadata.GetProperty("issuer").GetString().ShouldBe(Issuer);
        metadata.GetProperty("revocation_endpoint_auth_methods_supported").GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task An_RFC_8414_only_server_is_found_by_the_adapters_fallback_over_real_HTTP()
    {
        using var reading = SandboxSwitch.Set(Alpha, o => o.Metadata = MetadataDocuments.AuthorizationServerOnly);
        (await _sandbox.GetAsync("oidc/alpha/.well-known/openid-configuration")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var options = new GenericOAuthOptions { Issuer = Issuer, ClientId = Client, ClientSecret = "unused", Scopes = ["openid"] };
        var provider = new GenericOAuthProvider("alpha-8414", options, new ProviderHttpClient(services.GetRequiredService<IHttpClientFactory>(), NullLogger<ProviderHttpClient>.Instance),
            TimeProvider.System, NullLogger<GenericOAuthProvider>.Instance);

        var url = await provider.BuildAuthorizationUrlAsync(new AuthorizationRequest("s", _sandbox.BrokerCallback("acme"), "c", "n"), default);

        url.Value!.GetLeftPart(UriPartial.Path).ShouldBe(Issuer + "/authorize");
    }

    [Fact]
    public async Task Userinfo_names_the_same_subject_as_the_ID_token_even_with_app_roles()
    {
        // Core §5.3.2: "The sub Claim in the UserInfo Response MUST be verified to exactly match the sub Claim in the ID Token".
        var tokens = await TokensAsync("user-roles", roles: "Reader Writer");
        using var userinfo = await _sandbox.GetAsync("oidc/alpha/userinfo", tokens.GetProperty("access_token").GetString());

        (await _sandbox.JsonAsync(userinfo)).GetProperty("sub").GetString().ShouldBe(Claims(tokens).GetProperty("sub").GetString());
        Claims(tokens).GetProperty("roles").GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task The_ID_token_carries_extra_audiences_with_azp_and_a_name_only_when_switched()
    {
        using var reading = SandboxSwitch.Set(Alpha, o => { o.ExtraAudiences = ["https://api.example.com"]; o.NameInIdToken = false; });

        var claims = Claims(await TokensAsync("user-aud"));

        claims.GetProperty("aud").EnumerateArray().Select(a => a.GetString()).ShouldBe([Client, "https://api.example.com"]);
        claims.GetProperty("azp").GetString().ShouldBe(Client);
        claims.TryGetProperty("name", out _).ShouldBeFalse();
    }

    [Fact]
    public async Task A_client_authentication_failure_is_401_with_a_challenge_for_Basic_and_400_for_body_credentials()
    {
        using var basic = await _sandbox.PostFormAsync("oidc/alpha/token", new() { ["grant_type"] = "refresh_token", ["refresh_token"] = "x" },
            r => r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Client + ":wrong"))));
        using var body = await _sandbox.PostFormAsync("oidc/alpha/token", new() { ["grant_type"] = "refresh_token", ["refresh_token"] = "x", ["client_id"] = Client, ["client_secret"] = "wrong" });

        // RFC 6749 §5.2 invalid_client.
        basic.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        basic.Headers.WwwAuthenticate.ShouldNotBeEmpty();
        body.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await _sandbox.JsonAsync(body)).GetProperty("error").GetString().ShouldBe("invalid_client");
    }

    [Fact]
    public async Task Revocation_refuses_a_method_it_does_not_accept_and_may_not_revoke_access_tokens()
    {
        var tokens = await TokensAsync("user-revoke");
        var access = tokens.GetProperty("access_token").GetString()!;
        using var reading = SandboxSwitch.Set(Alpha, o => { o.RevocationAuthMethods = ClientAuthMethods.BasicOnly; o.RevokesAccessTokens = false; });

        using var byPost = await _sandbox.PostFormAsync("oidc/alpha/revoke", new() { ["token"] = access, ["client_id"] = Client, ["client_secret"] = fixture.AcmeClientSecret });
        byPost.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await _sandbox.JsonAsync(byPost)).GetProperty("error").GetString().ShouldBe("invalid_client");

        using var accessToken = await _sandbox.PostFormAsync("oidc/alpha/revoke", new() { ["token"] = access, ["token_type_hint"] = "access_token" },
            r => r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(Client) + ":" + WebUtility.UrlEncode(fixture.AcmeClientSecret)))));
        // RFC 7009 §2.2.1: unsupported_token_type.
        accessToken.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await _sandbox.JsonAsync(accessToken)).GetProperty("error").GetString().ShouldBe("unsupported_token_type");
    }

    /// <summary>
    /// Client credentials as Entra ID answers a daemon (v2-oauth2-client-creds-grant-flow.md; access-token-claims-reference.md):
    /// only <c>{resource}/.default</c> is a valid scope; an access token and no refresh token (RFC 6749 §4.4.3); the
    /// audience is the resource, <c>roles</c> the client's application permissions, no <c>scp</c>, <c>oid == sub</c>.
    /// </summary>
    [Fact]
    public async Task Client_credentials_give_an_app_only_token_for_the_default_scope_and_no_refresh_token()
    {
        var token = await SandboxIdentity.DaemonTokenAsync(fixture, SandboxIdentity.BuiltByBitDaemon);
        using (var claims = JwtPayload.TryRead(token)!)
        {
            var root = claims.RootElement;
            root.GetProperty("aud").GetString().ShouldBe("sandbox-acme-client");
            root.GetProperty("iss").GetString().ShouldBe(Issuer);
            root.GetProperty("oid").GetString().ShouldBe(root.GetProperty("sub").GetString());
            root.GetProperty("azp").GetString().ShouldBe(SandboxIdentity.BuiltByBitDaemon);
            root.GetProperty("roles").EnumerateArray().Select(r => r.GetString()).ShouldBe(["OAuthBroker.Backend.builtbybit"]);
            root.TryGetProperty("scp", out _).ShouldBeFalse();
        }

        using var wrongScope = await _sandbox.PostFormAsync("oidc/alpha/token", new()
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = "openid",
            ["client_id"] = SandboxIdentity.BuiltByBitDaemon,
            ["client_secret"] = fixture.DaemonClientSecret,
        });
        wrongScope.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await _sandbox.JsonAsync(wrongScope)).GetProperty("error").GetString().ShouldBe("invalid_scope");
    }
}
