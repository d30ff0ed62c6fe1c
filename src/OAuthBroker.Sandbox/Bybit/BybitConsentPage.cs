using System.Text.Encodings.Web;

namespace OAuthBroker.Sandbox.Bybit;

/// <summary>The sandbox's consent page: a UID to act as, an approve button, a cancel button.</summary>
public static class BybitConsentPage
{
    private const string Style = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.6rem 0}button{padding:.4rem .9rem;margin-right:.5rem}";

    public static IResult Render(string clientId, string redirectUri, string scope, string? state)
    {
        var html = HtmlEncoder.Default;
        var uid = Random.Shared.NextInt64(100_000_000, 999_999_999);
        var body = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Bybit (sandbox) — authorize</title><style>{{Style}}</style></head>
            <body>
              <h1>Bybit sandbox</h1>
              <p>The application <strong>{{html.Encode(clientId)}}</strong> asks for <strong>{{html.Encode(scope)}}</strong> access to your Bybit account.</p>
              <form method="post" action="{{BybitSandboxEndpoints.Prefix}}/en/oauth/consent">
                <input type="hidden" name="client_id" value="{{html.Encode(clientId)}}">
                <input type="hidden" name="redirect_uri" value="{{html.Encode(redirectUri)}}">
                <input type="hidden" name="scope" value="{{html.Encode(scope)}}">
                <input type="hidden" name="state" value="{{html.Encode(state ?? "")}}">
                <label>Sandbox account UID <input name="uid" id="uid" value="{{uid}}" inputmode="numeric"></label>
                <label><input type="checkbox" name="no_2fa"> This account has no 2FA (Bybit then refuses: 20039)</label>
                <button type="submit" name="action" value="approve" id="approve">Authorize</button>
                <button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
              </form>
            </body></html>
            """;
        return Page(body);
    }

    public static IResult Cancelled() => Page(
        $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Cancelled</title><style>{Style}</style></head><body><p>Authorization cancelled. You can close this window.</p></body></html>");

    public static IResult Error(string message) => Page(
        $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title><style>{Style}</style></head><body><p>{HtmlEncoder.Default.Encode(message)}</p></body></html>",
        400);

    private static IResult Page(string html, int status = 200) => TypedResults.Content(html, "text/html; charset=utf-8", statusCode: status);
}
