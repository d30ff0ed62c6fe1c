using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using System.Web;

namespace OAuthBroker.Bench;

/// <summary>
/// One person linking a Bybit sandbox account, as a browser would: authorize (302 to the provider), the consent page
/// (200), approve (the sandbox redirects with 301 or 302, the two documented readings), the callback (302 back to the
/// return URL with <c>oauth_result=linked</c>). Any other answer ends the flow as an error named by stage and status.
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
            authorizeRequest.Headers.Add("X-Dev-User", user);
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

            var result = HttpUtility.ParseQueryString(callback.Headers.Location?.Query ?? "")["oauth_result"];
            return result == "linked"
                ? new LinkFlowResult(null, user, uid.ToString(CultureInfo.InvariantCulture), authorizeMs, consentMs, callbackMs)
                : LinkFlowResult.Failed($"callback 302 oauth_result={result ?? "(none)"}");
        }
        catch (HttpRequestException ex)
        {
            return LinkFlowResult.Failed($"{stage} {ex.HttpRequestError}");
        }
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex Hidden();

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]+)\">")]
    private static partial Regex Action();
}

/// <summary>A linked account with its stage times, or the error that ended the flow.</summary>
internal sealed record LinkFlowResult(string? Error, string User, string Account, double AuthorizeMs, double ConsentMs, double CallbackMs)
{
    public static LinkFlowResult Failed(string error) => new(error, "", "", double.NaN, double.NaN, double.NaN);
}
