using Microsoft.Extensions.Options;
using OAuthBroker.Flows;

namespace OAuthBroker.Host.Identity;

/// <summary>
/// The cookies that bind flows to the browser they were started in (RFC 9700 §4.7: state bound to the user agent).
/// <list type="bullet">
/// <item>The browser-binding cookie: random, HttpOnly, one per browser. Every flow and pending link records its
/// fingerprint; a callback or a cookie-bound completion without the same cookie is refused.</item>
/// <item>One flow cookie per started flow, holding the flow sealed (<see cref="SealedFlows"/>): named by a short id from
/// the state's fingerprint, so several flows in one browser (tabs, pop-ups) each find their own, scoped to the
/// provider's <c>/api/oauth/{provider}/</c> path, so it travels only to that provider's authorize and callback and
/// never with the browser's other requests; at most <see cref="MaxFlowsPerProvider"/> per provider, so the Cookie
/// header stays small.</item>
/// </list>
/// Both are <c>SameSite=Lax</c>: sent on the top-level GET navigation back from the provider, never on cross-site
/// subrequests (RFC 6265bis, "SameSite" cookies).
/// </summary>
public sealed class BrowserBinding(IOptions<BrokerOptions> options)
{
    /// <summary>Flows one browser may have open per provider; starting another drops the one that expires first.</summary>
    public const int MaxFlowsPerProvider = 4;

    /// <summary>Long enough to outlive any flow, short enough not to become a tracking id.</summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// A flow cookie outlives its flow by this much, so a late callback still finds the flow and answers
    /// <c>flow_expired</c> on the return page, rather than the bare <c>invalid_state</c> of an unknown state.
    /// </summary>
    private static readonly TimeSpan FlowCookieGrace = TimeSpan.FromMinutes(5);

    private bool Secure => options.Value.PublicBase.Scheme == Uri.UriSchemeHttps;

    /// <summary><c>__Host-</c> prefix when served over HTTPS: the browser then refuses it from subdomains or over http.</summary>
    public string CookieName => Secure ? "__Host-oauth-browser" : "oauth-browser";

    /// <summary>
    /// Flow cookies carry a path, so their prefix is <c>__Secure-</c> (RFC 6265bis §4.1.3.1; <c>__Host-</c> requires
    /// <c>Path=/</c>). A sibling subdomain could plant one, but only a value sealed by the broker for this very state,
    /// provider and browser-binding cookie (which is <c>__Host-</c>) opens: a planted flow of the attacker's own is
    /// refused as another browser's.
    /// </summary>
    public string FlowCookiePrefix => Secure ? "__Secure-oauth-flow-" : "oauth-flow-";

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
            SameSite = SameSiteMode.Lax,
            Path = "/",
            MaxAge = Lifetime,
            IsEssential = true,
        });
        return value;
    }

    /// <summary>
    /// Sets the cookie of a started flow and, when the browser already holds <see cref="MaxFlowsPerProvider"/> flows for
    /// this provider, expires the ones that end first (their clear-text expiry; a value without one goes first).
    /// </summary>
    public void IssueFlow(HttpContext context, string providerId, StartedFlow flow)
    {
        var prefix = FlowCookiePrefix;
        var held = context.Request.Cookies
            .Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal) && c.Key.Length == prefix.Length + SealedFlows.CookieIdLength)
            .OrderBy(c => SealedFlows.ExpiryOf(c.Value) ?? DateTimeOffset.MinValue)
            .ToList();
        foreach (var (name, _) in held.Take(Math.Max(0, held.Count - (MaxFlowsPerProvider - 1))))
        {
            context.Response.Cookies.Delete(name, FlowCookieOptions(providerId, TimeSpan.Zero));
        }

        context.Response.Cookies.Append(prefix + flow.CookieId, flow.SealedFlow, FlowCookieOptions(providerId, options.Value.FlowLifetime + FlowCookieGrace));
    }

    /// <summary>The sealed flow this browser holds for <paramref name="state"/>, or null.</summary>
    public string? ReadFlow(HttpContext context, string state) =>
        context.Request.Cookies[FlowCookiePrefix + AuthorizationFlowService.CookieIdFor(state)] is { Length: > 0 and <= 4096 } value ? value : null;

    /// <summary>Expires the flow cookie of <paramref name="state"/>: a callback uses its flow once, whatever the outcome.</summary>
    public void ForgetFlow(HttpContext context, string providerId, string state) =>
        context.Response.Cookies.Delete(FlowCookiePrefix + AuthorizationFlowService.CookieIdFor(state), FlowCookieOptions(providerId, TimeSpan.Zero));

    private CookieOptions FlowCookieOptions(string providerId, TimeSpan maxAge) => new()
    {
        HttpOnly = true,
        Secure = Secure,
        SameSite = SameSiteMode.Lax,
        Path = $"/api/oauth/{providerId}/",
        MaxAge = maxAge > TimeSpan.Zero ? maxAge : null,
        IsEssential = true,
    };
}
