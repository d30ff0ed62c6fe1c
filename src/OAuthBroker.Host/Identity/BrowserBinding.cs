using Microsoft.Extensions.Options;
using OAuthBroker.Flows;

namespace OAuthBroker.Host.Identity;

/// <summary>
/// A random, HttpOnly cookie that identifies the browser a flow was started in. The flow stores its
/// fingerprint; a callback arriving without the same cookie (another browser, a forwarded link) is refused
/// (RFC 9700 §4.7: state bound to the user agent).
/// </summary>
public sealed class BrowserBinding(IOptions<BrokerOptions> options)
{
    /// <summary>Long enough to outlive any flow, short enough not to become a tracking id.</summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private bool Secure => options.Value.PublicBase.Scheme == Uri.UriSchemeHttps;

    /// <summary><c>__Host-</c> prefix when served over HTTPS: the browser then refuses it from subdomains or over http.</summary>
    public string CookieName => Secure ? "__Host-oauth-browser" : "oauth-browser";

    public string? Read(HttpContext context)
    {
        var value = context.Request.Cookies[CookieName];
        return value is { Length: 43 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? value : null;
    }

    /// <summary>The browser's binding, issuing a new cookie when it has none; the lifetime restarts on every flow.</summary>
    public string GetOrIssue(HttpContext context)
    {
        var value = Read(context) ?? FlowSecrets.NewOpaqueValue();
        context.Response.Cookies.Append(CookieName, value, new CookieOptions
        {
            HttpOnly = true,
            Secure = Secure,
            // Lax: sent on the top-level GET navigation back from the provider, not on cross-site subrequests.
            SameSite = SameSiteMode.Lax,
            Path = "/",
            MaxAge = Lifetime,
            IsEssential = true,
        });
        return value;
    }
}
