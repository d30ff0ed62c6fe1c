using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// End users with a bearer JWT from the platform's identity provider (here the sandbox's OpenID Connect issuer):
/// issuer, audience, lifetime and signature checked against the discovery document; anything else is refused.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed partial class UserAuthenticationTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>Signs a user in at the sandbox issuer (code flow with PKCE) and returns the ID token, as a SPA's login would.</summary>
    private async Task<string> SignInAsync(string account)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var redirect = new Uri(fixture.BrokerUri, "api/oauth/acme/callback").AbsoluteUri;
        var issuer = new Uri(fixture.Environment.SandboxUri, "oidc/alpha/");
        var page = await http.GetStringAsync(new Uri(issuer, $"authorize?response_type=code&client_id=sandbox-acme-client&redirect_uri={Uri.EscapeDataString(redirect)}&scope=openid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"));
        var fields = Hidden().Matches(page).ToDictionary(m => m.Groups["name"].Value, m => HttpUtility.HtmlDecode(m.Groups["value"].Value));
        fields["account"] = account;
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

    private async Task<HttpStatusCode> LinksStatusAsync(Action<HttpRequestMessage> authenticate)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/links"));
        authenticate(request);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_valid_bearer_token_from_the_configured_issuer_identifies_the_user()
    {
        var token = await SignInAsync("jwt-user-1");
        (await LinksStatusAsync(r => r.Headers.Authorization = new("Bearer", token))).ShouldBe(HttpStatusCode.OK);

        using var browser = fixture.NewBrowser("jwt-user-1");
        await browser.LinkAsync(provider: "bybit");
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/links"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength().ShouldBe(1, "the token's sub is the same user the link belongs to");
    }

    [Fact]
    public async Task Forged_unsigned_and_foreign_tokens_are_refused()
    {
        var token = await SignInAsync("jwt-user-2");
        var parts = token.Split('.');

        // A changed payload breaks the signature.
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64Url.DecodeFromChars(parts[1]))!;
        payload["sub"] = JsonSerializer.SerializeToElement("someone-else");
        var tampered = parts[0] + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload)) + "." + parts[2];
        // "alg":"none" with no signature.
        var unsigned = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8) + "." + parts[1] + ".";

        foreach (var bad in new[] { tampered, unsigned, "not-a-jwt", token + "x" })
        {
            (await LinksStatusAsync(r => r.Headers.Authorization = new("Bearer", bad))).ShouldBe(HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task Easy_Auth_headers_are_not_trusted_unless_configured()
    {
        (await LinksStatusAsync(r => r.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", "spoofed-user"))).ShouldBe(HttpStatusCode.Unauthorized);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex Hidden();
}
