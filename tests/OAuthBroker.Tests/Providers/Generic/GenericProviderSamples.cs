using System.Buffers.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Generic;
using OAuthBroker.Providers.Http;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Providers.Generic;

/// <summary>
/// The canned provider and answers both generic-dialect test classes use, in the shapes the standards define: OpenID
/// Connect Discovery 1.0 §3 and RFC 8414 §2 (metadata; RFC 9207 §3 for <c>authorization_response_iss_parameter_supported</c>),
/// RFC 6749 §5.1 (token response), OpenID Connect Core §2 and §3.1.3.7 (ID token claims).
/// </summary>
internal static class GenericProviderSamples
{
    public const string Issuer = "https://id.example.com/tenant";
    public const string OidcDiscovery = Issuer + "/.well-known/openid-configuration";
    public const string TokenUrl = "https://id.example.com/tenant/token";
    public const string UserinfoUrl = "https://id.example.com/tenant/userinfo";
    public const string RevokeUrl = "https://id.example.com/tenant/revoke";
    public static readonly Uri Callback = new("https://broker.example.com/api/oauth/acme/callback");

    /// <summary>A provider <c>acme</c> for this issuer, its options valid after <paramref name="configure"/>, calling through <paramref name="http"/>.</summary>
    public static GenericOAuthProvider Provider(StubHttp http, string clientSecret, Action<GenericOAuthOptions>? configure)
    {
        var options = new GenericOAuthOptions { Issuer = Issuer, ClientId = "client id", ClientSecret = clientSecret, Scopes = ["openid", "profile"] };
        configure?.Invoke(options);
        options.Validate("Providers:acme").ShouldBeEmpty();
        return new GenericOAuthProvider("acme", options, new ProviderHttpClient(http, NullLogger<ProviderHttpClient>.Instance), new ManualClock(), NullLogger<GenericOAuthProvider>.Instance);
    }

    /// <summary>Server metadata; <c>authorization_response_iss_parameter_supported</c> only when <paramref name="issParameterSupported"/> is given.</summary>
    public static string Metadata(string issuer = Issuer, string token = TokenUrl, string userinfo = UserinfoUrl, string revoke = RevokeUrl, bool? issParameterSupported = null)
    {
        var metadata = new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["authorization_endpoint"] = Issuer + "/authorize",
            ["token_endpoint"] = token,
            ["userinfo_endpoint"] = userinfo,
            ["revocation_endpoint"] = revoke,
        };
        if (issParameterSupported is { } supported)
        {
            metadata["authorization_response_iss_parameter_supported"] = supported;
        }

        return JsonSerializer.Serialize(metadata);
    }

    /// <summary>An unsigned-looking ID token for this issuer and client (nonce <c>n0nce</c>, five minutes left), with <paramref name="overrides"/> applied.</summary>
    public static string IdToken(Dictionary<string, object>? overrides = null, bool withName = true)
    {
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = "248289761001",
            ["aud"] = "client id",
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(),
            ["nonce"] = "n0nce",
        };
        if (withName)
        {
            claims["name"] = "Jane Doe";
        }

        foreach (var (name, value) in overrides ?? [])
        {
            claims[name] = value;
        }

        return "eyJhbGciOiJSUzI1NiJ9." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims)) + ".c2ln";
    }

    public static string Tokens(string? idToken, object? expiresIn = null) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["access_token"] = "SlAV32hkKG",
        ["token_type"] = "Bearer",
        ["refresh_token"] = "8xLOxBtZp8",
        ["expires_in"] = expiresIn ?? 3600,
        ["id_token"] = idToken,
    });

    public static AuthorizationCompletion Completion() =>
        new("SplxlOBeZQQYbYS6WxSbIA", Callback, "v3rifier", "n0nce", new AuthorizationResponse(Issuer, new Dictionary<string, string>()));
}
