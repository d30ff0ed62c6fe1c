using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using OAuthBroker.Host.Endpoints;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// One browser: its own cookie jar, redirects followed by hand so each hop can be checked. Talks real HTTP to
/// the broker and the sandbox, as a person clicking through the consent page would; and, where the broker's
/// callback hands a pending link to the frontend, it does what the demo page's return page does (the completion
/// step, with this browser's cookies and identity).
/// </summary>
public sealed partial class BrowserSession : IDisposable
{
    private readonly BrokerEnvironmentFixture _fixture;
    private readonly HttpClient _http;

    public BrowserSession(BrokerEnvironmentFixture fixture, string? user)
    {
        _fixture = fixture;
        Cookies = new CookieContainer();
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = Cookies, UseCookies = true })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
        User = user ?? "user-" + Guid.NewGuid().ToString("N")[..12];
        // The development identity, as the demo page sets it.
        Cookies.Add(fixture.BrokerUri, new Cookie("dev_user", User));
    }

    public string User { get; }

    /// <summary>Drops the development identity cookie: this browser is then anonymous unless it sends a bearer token.</summary>
    public void ForgetDevelopmentIdentity()
    {
        foreach (Cookie cookie in Cookies.GetCookies(_fixture.BrokerUri))
        {
            if (cookie.Name == "dev_user")
            {
                cookie.Expired = true;
            }
        }
    }
    public CookieContainer Cookies { get; }
    public HttpClient Http => _http;

    public Task<HttpResponseMessage> AuthorizeAsync(string provider = "bybit", string? returnUrl = "/demo/callback.html")
    {
        var path = $"api/oauth/{provider}/authorize" + (returnUrl is null ? "" : "?returnUrl=" + Uri.EscapeDataString(returnUrl));
        return _http.GetAsync(new Uri(_fixture.BrokerUri, path));
    }

    /// <summary>Starts a flow and returns the provider URL the broker redirected to.</summary>
    public async Task<Uri> StartAsync(string provider = "bybit", string? returnUrl = "/demo/callback.html")
    {
        using var response = await AuthorizeAsync(provider, returnUrl);
        response.StatusCode.ShouldBe(HttpStatusCode.Found);
        var location = response.Headers.Location!;
        _fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(location.Query)["state"]);
        return location;
    }

    /// <summary>Opens the sandbox's consent page and submits it; returns where the provider sends the browser.</summary>
    public async Task<Uri> ConsentAsync(Uri authorizationUrl, long uid = 0, bool no2Fa = false, bool approve = true, Dictionary<string, string>? extra = null)
    {
        using var page = await _http.GetAsync(authorizationUrl);
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await page.Content.ReadAsStringAsync();
        var fields = HiddenField().Matches(html).ToDictionary(m => m.Groups["name"].Value, m => HttpUtility.HtmlDecode(m.Groups["value"].Value));
        if (uid != 0)
        {
            fields["account"] = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            fields["account"] = AccountInput().Match(html).Groups["value"].Value;
        }

        fields["action"] = approve ? "approve" : "cancel";
        if (no2Fa)
        {
            fields["no_2fa"] = "on";
        }

        foreach (var (name, value) in extra ?? [])
        {
            fields[name] = value;
        }

        var action = FormAction().Match(html).Groups["action"].Value;
        using var consent = await _http.PostAsync(new Uri(authorizationUrl, HttpUtility.HtmlDecode(action)), new FormUrlEncodedContent(fields));
        ((int)consent.StatusCode).ShouldBeOneOf(301, 302);
        var callback = consent.Headers.Location!;
        _fixture.SeenSecrets.Add(HttpUtility.ParseQueryString(callback.Query)["code"]);
        return callback;
    }

    /// <summary>The raw answer, with nothing done about it (a pending callback stays pending).</summary>
    public Task<HttpResponseMessage> GetRawAsync(Uri url) => _http.GetAsync(url);

    /// <summary>
    /// GET as a browser with the demo page behind it: when the answer is the callback's redirect to the return URL
    /// with <c>oauth_result=pending</c> and a completion code in the fragment, the return page completes the link
    /// (<see cref="CompleteAsync"/>) and replaces its URL with the outcome, as <c>demo/callback.js</c> does
    /// (<c>history.replaceState</c>): <c>oauth_result=linked</c>, or <c>oauth_result=error&amp;oauth_error=</c> the
    /// completion's problem code. The answer's Location is that final URL; everything else is the callback's answer.
    /// </summary>
    public async Task<HttpResponseMessage> GetAsync(Uri url)
    {
        var response = await _http.GetAsync(url);
        if (PendingReturn(response) is not { } pending)
        {
            return response;
        }

        using var completion = await CompleteAsync(pending.Provider, pending.Code);
        var outcome = completion.IsSuccessStatusCode
            ? "oauth_result=linked"
            : "oauth_result=error&oauth_error=" + (await completion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        response.Headers.Location = new Uri(pending.ReturnUrl.AbsoluteUri.Replace("oauth_result=pending", outcome, StringComparison.Ordinal));
        return response;
    }

    /// <summary>
    /// The completion step as a frontend does it: POST the code as JSON with this browser's cookies (the browser
    /// binding, and the development identity) and, for a single-page app, its bearer token and completion verifier.
    /// </summary>
    public Task<HttpResponseMessage> CompleteAsync(string provider, string code, string? bearer = null, string? verifier = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_fixture.BrokerUri, $"api/oauth/{provider}/complete"))
        {
            // As a browser's fetch sends a string body: with a Content-Length (the Functions host forwards no chunked body).
            Content = new StringContent(verifier is null ? JsonSerializer.Serialize(new { completion = code }) : JsonSerializer.Serialize(new { completion = code, verifier }),
                System.Text.Encoding.UTF8, "application/json"),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }

        return _http.SendAsync(request);
    }

    /// <summary>The flow cookies this browser holds for <paramref name="provider"/> (sent only to its <c>/api/oauth/{provider}/</c> paths).</summary>
    public List<Cookie> FlowCookies(string provider = "bybit") =>
        [.. Cookies.GetCookies(new Uri(_fixture.BrokerUri, $"api/oauth/{provider}/callback")).Where(c => c.Name.StartsWith("oauth-flow-", StringComparison.Ordinal))];

    /// <summary>The return URL (without its fragment), provider and completion code of a pending callback answer, or null.</summary>
    public (Uri ReturnUrl, string Provider, string Code)? PendingReturn(HttpResponseMessage response)
    {
        if (response.Headers.Location is not { IsAbsoluteUri: true } location || !location.Query.Contains("oauth_result=pending", StringComparison.Ordinal)
            || !location.Fragment.StartsWith("#oauth_completion=", StringComparison.Ordinal))
        {
            return null;
        }

        var code = location.Fragment["#oauth_completion=".Length..];
        _fixture.SeenSecrets.Add(code);
        return (new Uri(location.GetLeftPart(UriPartial.Query)), HttpUtility.ParseQueryString(location.Query)["oauth_provider"]!, code);
    }

    /// <summary>The whole flow, completion step included; returns the return URL with the outcome.</summary>
    public async Task<Uri> LinkAsync(long uid = 0, string? returnUrl = "/demo/callback.html", string provider = "bybit")
    {
        var callback = await ConsentAsync(await StartAsync(provider, returnUrl), uid);
        using var response = await GetAsync(callback);
        response.StatusCode.ShouldBe(HttpStatusCode.Found);
        return response.Headers.Location!;
    }

    public async Task<List<LinkView>> LinksAsync()
    {
        using var response = await _http.GetAsync(new Uri(_fixture.BrokerUri, "api/links"));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync<List<LinkView>>(TestJson.Options))!;
    }

    public Task<HttpResponseMessage> UnlinkAsync(string provider, string accountId) =>
        _http.DeleteAsync(new Uri(_fixture.BrokerUri, $"api/links/{provider}/{Uri.EscapeDataString(accountId)}"));

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"account\" id=\"account\" value=\"(?<value>[^\"]*)\"")]
    private static partial Regex AccountInput();

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]+)\">")]
    private static partial Regex FormAction();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenField();
}

public static class TestJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower) },
    };
}
