using System.Buffers.Text;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Sandbox;

/// <summary>
/// Talks to the sandbox as a provider's client would, without the broker: authorize, consent, and the back-channel
/// calls. The sandbox tests use it to check each imitated behaviour against its document.
/// </summary>
public sealed partial class SandboxHttp(BrokerEnvironmentFixture fixture) : IDisposable
{
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false });

    public static (string Verifier, string Challenge) Pkce()
    {
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public Uri Url(string pathAndQuery) => new(fixture.Environment.SandboxUri, pathAndQuery.TrimStart('/'));

    public Uri BrokerCallback(string provider) => new(fixture.BrokerUri, $"api/oauth/{provider}/callback");

    public Task<HttpResponseMessage> GetAsync(string pathAndQuery, string? bearer = null) => SendAsync(HttpMethod.Get, pathAndQuery, bearer);

    public Task<HttpResponseMessage> DeleteAsync(string pathAndQuery, string? bearer = null) => SendAsync(HttpMethod.Delete, pathAndQuery, bearer);

    public async Task<HttpResponseMessage> PostFormAsync(string pathAndQuery, Dictionary<string, string> form, Action<HttpRequestMessage>? customize = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url(pathAndQuery)) { Content = new FormUrlEncodedContent(form) };
        customize?.Invoke(request);
        return await _http.SendAsync(request);
    }

    /// <summary>Opens a consent page and submits it; returns the provider's answer (a redirect, or a page).</summary>
    public async Task<HttpResponseMessage> ConsentAsync(string authorizePathAndQuery, string account, bool approve = true, Dictionary<string, string>? extra = null)
    {
        using var page = await _http.GetAsync(Url(authorizePathAndQuery));
        page.IsSuccessStatusCode.ShouldBeTrue();
        var html = await page.Content.ReadAsStringAsync();
        var fields = Hidden().Matches(html).ToDictionary(m => m.Groups["name"].Value, m => HttpUtility.HtmlDecode(m.Groups["value"].Value));
        fields["account"] = account;
        fields["action"] = approve ? "approve" : "cancel";
        foreach (var (name, value) in extra ?? [])
        {
            fields[name] = value;
        }

        return await _http.PostAsync(new Uri(Url(authorizePathAndQuery), HttpUtility.HtmlDecode(Action().Match(html).Groups["action"].Value)), new FormUrlEncodedContent(fields));
    }

    /// <summary>The code on a consent's redirect (recorded as seen, for the log checks).</summary>
    public string CodeOf(HttpResponseMessage consent)
    {
        var code = HttpUtility.ParseQueryString(consent.Headers.Location!.Query)["code"]!;
        fixture.SeenSecrets.Add(code);
        return code;
    }

    public async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        foreach (var name in new[] { "access_token", "refresh_token", "id_token" })
        {
            foreach (var holder in new[] { body, body.TryGetProperty("data", out var data) ? data : default, body.TryGetProperty("result", out var result) ? result : default })
            {
                if (holder.ValueKind == JsonValueKind.Object && holder.TryGetProperty(name, out var token) && token.ValueKind == JsonValueKind.String)
                {
                    fixture.SeenSecrets.Add(token.GetString());
                }
            }
        }

        return body;
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, string? bearer)
    {
        using var request = new HttpRequestMessage(method, Url(pathAndQuery));
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }

        return await _http.SendAsync(request);
    }

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]+)\">")]
    private static partial Regex Action();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex Hidden();
}
