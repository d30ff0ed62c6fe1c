using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// End users with a bearer JWT from the platform's identity provider (here the sandbox's OpenID Connect issuer):
/// issuer, audience, lifetime and signature checked against the discovery document; anything else is refused.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public class UserAuthenticationTests(BrokerEnvironmentFixture fixture)
{
    private Task<string> SignInAsync(string account) => SandboxIdentity.SignInAsync(fixture, account);

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

    /// <summary>Another broker with the fixture's settings plus <paramref name="extra"/>, its logs captured on their own.</summary>
    private async Task<(Microsoft.AspNetCore.Builder.WebApplication App, HttpClient Http, CapturedLogs Logs)> InstanceAsync(params string[] extra)
    {
        var port = OAuthBroker.LocalEnvironment.FreePort.Next();
        var logs = new CapturedLogs();
        var app = OAuthBroker.Host.BrokerApp.Create(
            [.. fixture.Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal)), $"--urls=http://127.0.0.1:{port}", .. extra],
            builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") }, logs);
    }

    private static async Task<HttpStatusCode> EasyAuthStatusAsync(HttpClient http, string principal, string? identityProvider)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/links");
        request.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", principal);
        if (identityProvider is not null)
        {
            request.Headers.Add("X-MS-CLIENT-PRINCIPAL-IDP", identityProvider);
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Trusted_Easy_Auth_headers_are_ignored_and_logged_once_while_the_platform_says_Easy_Auth_is_off()
    {
        // TrustEasyAuthHeaders on, but no WEBSITE_AUTH_ENABLED: App Service would not strip client copies, so they are anyone's.
        var (app, http, logs) = await InstanceAsync("--Authentication:TrustEasyAuthHeaders=true");
        await using (app)
        using (http)
        {
            (await EasyAuthStatusAsync(http, "spoofed-user", "aad")).ShouldBe(HttpStatusCode.Unauthorized);
            (await EasyAuthStatusAsync(http, "spoofed-user-2", "aad")).ShouldBe(HttpStatusCode.Unauthorized);
            logs.Lines.Count(l => l.Contains("X-MS-CLIENT-PRINCIPAL-ID header ignored", StringComparison.Ordinal)).ShouldBe(1);
            logs.Lines.ShouldContain(l => l.Contains("WEBSITE_AUTH_ENABLED is not True", StringComparison.Ordinal));
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task With_Easy_Auth_on_only_principals_of_the_configured_identity_provider_are_users()
    {
        var (app, http, _) = await InstanceAsync("--Authentication:TrustEasyAuthHeaders=true", "--WEBSITE_AUTH_ENABLED=True");
        await using (app)
        using (http)
        {
            (await EasyAuthStatusAsync(http, "entra-object-id-1", "aad")).ShouldBe(HttpStatusCode.OK);
            (await EasyAuthStatusAsync(http, "12345", "github")).ShouldBe(HttpStatusCode.Unauthorized, "ids of other providers share no namespace with Entra's");
            (await EasyAuthStatusAsync(http, "12345", null)).ShouldBe(HttpStatusCode.Unauthorized);
            await app.StopAsync();
        }
    }
}
