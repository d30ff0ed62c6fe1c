using System.Buffers.Text;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;

namespace OAuthBroker.Tests.Support;

/// <summary>The platform's identity provider in the tests: the sandbox's OpenID Connect issuer "alpha".</summary>
public static partial class SandboxIdentity
{
    /// <summary>Signs a user in at the sandbox issuer (code flow with PKCE) and returns the ID token, as a SPA's login would.</summary>
    public static async Task<string> SignInAsync(BrokerEnvironmentFixture fixture, string account, string? roles = null)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var redirect = new Uri(fixture.BrokerUri, "api/oauth/acme/callback").AbsoluteUri;
        var issuer = new Uri(fixture.Environment.SandboxUri, "oidc/alpha/");
        var page = await http.GetStringAsync(new Uri(issuer, $"authorize?response_type=code&client_id=sandbox-acme-client&redirect_uri={Uri.EscapeDataString(redirect)}&scope=openid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"));
        var fields = Hidden().Matches(page).ToDictionary(m => m.Groups["name"].Value, m => HttpUtility.HtmlDecode(m.Groups["value"].Value));
        fields["account"] = account;
        fields["roles"] = roles ?? "";
        fields["action"] = "approve";
        using var consent = await http.PostAsync(new Uri(issuer, "consent"), new FormUrlEncodedContent(fields));
        var code = HttpUtility.ParseQueryString(consent.Headers.Location!.Query)["code"]!;
        using var token = await http.PostAsync(new Uri(issuer, "token"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = redirect,
            ["code_verifier"] = verifier,
            ["client_id"] = "sandbox-acme-client",
            ["client_secret"] = fixture.AcmeClientSecret,
        }));
        var idToken = (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id_token").GetString()!;
        fixture.SeenSecrets.Add(idToken);
        return idToken;
    }

    public const string AllProvidersDaemon = "sandbox-daemon-all";
    public const string BuiltByBitDaemon = "sandbox-daemon-builtbybit";

    /// <summary>
    /// A daemon's own token (client credentials, RFC 6749 §4.4) for the broker's audience, as a platform backend gets one
    /// from Entra ID: <c>scope={resource}/.default</c>, the client's granted app roles, <c>oid == sub</c>, no <c>scp</c>.
    /// </summary>
    public static async Task<string> DaemonTokenAsync(BrokerEnvironmentFixture fixture, string clientId)
    {
        using var http = new HttpClient();
        using var token = await http.PostAsync(new Uri(fixture.Environment.SandboxUri, "oidc/alpha/token"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = "sandbox-acme-client/.default",
            ["client_id"] = clientId,
            ["client_secret"] = fixture.DaemonClientSecret,
        }));
        var body = await token.Content.ReadFromJsonAsync<JsonElement>();
        body.TryGetProperty("refresh_token", out _).ShouldBeFalse("RFC 6749 §4.4.3: no refresh token for client credentials");
        var accessToken = body.GetProperty("access_token").GetString()!;
        fixture.SeenSecrets.Add(accessToken);
        return accessToken;
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex Hidden();
}
