using System.Text;
using System.Text.Encodings.Web;

namespace OAuthBroker.Sandbox.Pages;

/// <summary>
/// The sandbox's consent pages: who asks for what, the sandbox account to act as (<c>account</c>), optional extra
/// inputs, and Authorize / Cancel buttons posting to the dialect's consent endpoint.
/// </summary>
public static class ConsentPage
{
    private const string Style = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.6rem 0}button{padding:.4rem .9rem;margin-right:.5rem}";

    public static IResult Render(string provider, string clientId, string scope, string action, IReadOnlyDictionary<string, string?> hidden, string account, string extraInputsHtml = "")
    {
        var html = HtmlEncoder.Default;
        var fields = new StringBuilder();
        foreach (var (name, value) in hidden)
        {
            fields.Append(System.Globalization.CultureInfo.InvariantCulture, $"    <input type=\"hidden\" name=\"{html.Encode(name)}\" value=\"{html.Encode(value ?? "")}\">\n");
        }

        var body = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{{html.Encode(provider)}} (sandbox) — authorize</title><style>{{Style}}</style></head>
            <body>
              <h1>{{html.Encode(provider)}} sandbox</h1>
              <p>The application <strong>{{html.Encode(clientId)}}</strong> asks for <strong>{{html.Encode(scope)}}</strong> access to your {{html.Encode(provider)}} account.</p>
              <form method="post" action="{{html.Encode(action)}}">
            {{fields}}    <label>Sandbox account <input name="account" id="account" value="{{html.Encode(account)}}"></label>
            {{extraInputsHtml}}    <button type="submit" name="action" value="approve" id="approve">Authorize</button>
                <button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
              </form>
            </body></html>
            """;
        return Page(body);
    }

    public static IResult Message(string text, int status = 200) => Page(
        $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox</title><style>{Style}</style></head><body><p>{HtmlEncoder.Default.Encode(text)}</p></body></html>",
        status);

    public static IResult Error(string text) => Message(text, 400);

    private static IResult Page(string html, int status = 200) => TypedResults.Content(html, "text/html; charset=utf-8", statusCode: status);
}
