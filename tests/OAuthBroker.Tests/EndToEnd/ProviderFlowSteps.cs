using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.EndToEnd;

/// <summary>
/// Steps the provider end-to-end tests share beyond <see cref="BrowserSession"/>: a consent whose answer is not a
/// redirect (a provider page that stops the flow), the backend's forced refresh, and the unlink outcome.
/// </summary>
public static partial class ProviderFlowSteps
{
    /// <summary>Submits the sandbox consent page as <see cref="BrowserSession.ConsentAsync"/> does, but returns the raw answer.</summary>
    public static async Task<HttpResponseMessage> SubmitConsentAsync(BrowserSession browser, Uri authorizationUrl, string account, bool approve = true)
    {
        using var page = await browser.GetAsync(authorizationUrl);
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await page.Content.ReadAsStringAsync();
        var fields = HiddenField().Matches(html).ToDictionary(m => m.Groups["name"].Value, m => HttpUtility.HtmlDecode(m.Groups["value"].Value));
        fields["account"] = account;
        fields["action"] = approve ? "approve" : "cancel";
        var action = FormAction().Match(html).Groups["action"].Value;
        return await browser.Http.PostAsync(new Uri(authorizationUrl, HttpUtility.HtmlDecode(action)), new FormUrlEncodedContent(fields));
    }

    /// <summary>The backend's <c>POST …/refresh</c> (forces a refresh now); returns the status and the vaulted credential after it.</summary>
    public static async Task<HttpStatusCode> ForceRefreshAsync(BrokerEnvironmentFixture fixture, string provider, string accountId, string userId)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri, $"api/links/{provider}/{Uri.EscapeDataString(accountId)}/refresh?userId={Uri.EscapeDataString(userId)}"));
        request.Headers.Add("X-Api-Key", fixture.BackendKey);
        if (fixture is OAuthBroker.Tests.FunctionsHost.HostedBrokerEnvironmentFixture hosted)
        {
            // Under the Functions host the backend functions are authLevel: function, so the host wants its key too.
            request.Headers.Add("x-functions-key", hosted.FunctionKey);
        }

        using var response = await http.SendAsync(request);
        if (response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            fixture.SeenSecrets.Add(body.GetProperty("accessToken").GetString());
        }

        return response.StatusCode;
    }

    /// <summary>Unlinks and returns (HTTP status, revocation outcome or problem code, detail).</summary>
    public static async Task<(HttpStatusCode Status, string Outcome, string Detail)> UnlinkAsync(BrowserSession browser, string provider, string accountId)
    {
        using var response = await browser.UnlinkAsync(provider, accountId);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return response.IsSuccessStatusCode
            ? (response.StatusCode, body.GetProperty("revocation").GetString()!, body.GetProperty("revocationDetail").GetString()!)
            : (response.StatusCode, body.GetProperty("code").GetString()!, body.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "" : "");
    }

    public static string? ErrorOf(Uri returned) => HttpUtility.ParseQueryString(returned.Query)["oauth_error"];

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]+)\">")]
    private static partial Regex FormAction();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenField();
}
