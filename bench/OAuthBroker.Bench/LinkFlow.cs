using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using System.Web;

namespace OAuthBroker.Bench;

/// <summary>
/// One person linking a Bybit sandbox account, as a browser and the frontend's script would: authorize (302 to the
/// provider), the consent page (200), approve (the sandbox redirects with 301 or 302, the two documented readings), the
/// callback (302 back to the return URL with <c>oauth_result=pending</c> and the one-time <c>oauth_completion</c> code
/// in the fragment), then the completion step (<c>POST /api/oauth/bybit/complete</c> with that code as JSON, from the
/// same browser: 200). Any other answer ends the flow as an error named by stage and status.
/// </summary>
internal static partial class LinkFlow
{
    public static async Task<LinkFlowResult> RunAsync(Uri broker, string user, long uid, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
        var stage = "authorize";
        try
        {
            var clock = Stopwatch.StartNew();
            using var authorizeRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(broker, "api/oauth/bybit/authorize?returnUrl=/demo/callback.html"));
            foreach (var (name, value) in BenchContext.SignedIn(user))
            {
                authorizeRequest.Headers.Add(name, value);
            }

            using var authorize = await http.SendAsync(authorizeRequest, ct);
            if (authorize.StatusCode != HttpStatusCode.Found || authorize.Headers.Location is not { } consentUri)
            {
                return LinkFlowResult.Failed($"authorize {(int)authorize.StatusCode}");
            }

            var authorizeMs = clock.Elapsed.TotalMilliseconds;
            stage = "consent";
            clock.Restart();
            using var consentPage = await http.GetAsync(consentUri, ct);
            if (consentPage.StatusCode != HttpStatusCode.OK)
            {
                return LinkFlowResult.Failed($"consent page {(int)consentPage.StatusCode}");
            }

            var page = await consentPage.Content.ReadAsStringAsync(ct);
            var fields = Hidden().Matches(page).ToDictionary(m => m.Groups["name"].Value, m => HttpUtility.HtmlDecode(m.Groups["value"].Value));
            fields["account"] = uid.ToString(CultureInfo.InvariantCulture);
            fields["action"] = "approve";
            using var form = new FormUrlEncodedContent(fields);
            using var consent = await http.PostAsync(new Uri(consentUri, HttpUtility.HtmlDecode(Action().Match(page).Groups["action"].Value)), form, ct);
            if (consent.StatusCode is not (HttpStatusCode.MovedPermanently or HttpStatusCode.Found) || consent.Headers.Location is not { } callbackUri)
            {
                return LinkFlowResult.Failed($"consent {(int)consent.StatusCode}");
            }

            var consentMs = clock.Elapsed.TotalMilliseconds;
            stage = "callback";
            clock.Restart();
            using var callback = await http.GetAsync(callbackUri, ct);
            var callbackMs = clock.Elapsed.TotalMilliseconds;
            if (callback.StatusCode != HttpStatusCode.Found)
            {
                return LinkFlowResult.Failed($"callback {(int)callback.StatusCode}");
            }

            var returned = callback.Headers.Location;
            var result = HttpUtility.ParseQueryString(returned?.Query ?? "")["oauth_result"];
            var completionCode = HttpUtility.ParseQueryString(returned?.Fragment.TrimStart('#') ?? "")["oauth_completion"];
            if (result != "pending" || completionCode is null)
            {
                return LinkFlowResult.Failed($"callback 302 oauth_result={result ?? "(none)"}");
            }

            stage = "complete";
            clock.Restart();
            using var completeRequest = new HttpRequestMessage(HttpMethod.Post, new Uri(broker, "api/oauth/bybit/complete"))
            {
                Content = JsonContent.Create(new { completion = completionCode }),
            };
            foreach (var (name, value) in BenchContext.SignedIn(user))
            {
                completeRequest.Headers.Add(name, value);
            }

            using var complete = await http.SendAsync(completeRequest, ct);
            var completeMs = clock.Elapsed.TotalMilliseconds;
            return complete.StatusCode == HttpStatusCode.OK
                ? new LinkFlowResult(null, user, uid.ToString(CultureInfo.InvariantCulture), authorizeMs, consentMs, callbackMs, completeMs)
                : LinkFlowResult.Failed($"complete {(int)complete.StatusCode} {await ProblemCodeAsync(complete, ct)}");
        }
        catch (HttpRequestException ex)
        {
            return LinkFlowResult.Failed($"{stage} {ex.HttpRequestError}");
        }
    }

    /// <summary>The broker's problem code (RFC 9457 body, extension member <c>code</c>), to say which refusal it was.</summary>
    private static async Task<string> ProblemCodeAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            return body.RootElement.TryGetProperty("code", out var code) ? code.ToString() : "";
        }
        catch (System.Text.Json.JsonException)
        {
            return "";
        }
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex Hidden();

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]+)\">")]
    private static partial Regex Action();
}

/// <summary>A linked account with its stage times, or the error that ended the flow.</summary>
internal sealed record LinkFlowResult(string? Error, string User, string Account, double AuthorizeMs, double ConsentMs, double CallbackMs, double CompleteMs)
{
    public static LinkFlowResult Failed(string error) => new(error, "", "", double.NaN, double.NaN, double.NaN, double.NaN);
}
