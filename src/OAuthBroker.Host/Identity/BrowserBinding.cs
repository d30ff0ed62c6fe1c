using Microsoft.Extensions.Options;
using OAuthBroker.Flows;

namespace OAuthBroker.Host.Identity;

/// <summary>
/// The cookies that bind flows to the browser they were started in (RFC 9700 §4.7: state bound to the user agent).
/// <list type="bullet">
/// <item>The browser-binding cookie: random, HttpOnly, normally one per browser. Every flow and pending link records its
/// fingerprint; a callback or a cookie-bound completion without that cookie is refused. Each one the broker issues has
/// a name of its own (<c>oauth-browser-{id}</c>), so two flows started at once in a browser that had none (two tabs,
/// a pop-up and a tab) each keep theirs, instead of the last <c>Set-Cookie</c> replacing the other's.</item>
/// <item>One flow cookie per started flow, holding the flow sealed (<see cref="SealedFlows"/>): named by the state's
/// fingerprint, so several flows in one browser (tabs, pop-ups) each find their own, scoped to the
/// provider's <c>/api/oauth/{provider}/</c> path, so it travels only to that provider's authorize and callback and
/// never with the browser's other requests; at most <see cref="MaxFlowsPerProvider"/> of this browser's own flows per
/// provider, so the Cookie header stays small.</item>
/// </list>
/// Both are <c>SameSite=Lax</c>: sent on the top-level GET navigation back from the provider, never on cross-site
/// subrequests (RFC 6265bis, "SameSite" cookies).
/// </summary>
public sealed class BrowserBinding(IOptions<BrokerOptions> options, SealedFlows sealedFlows)
{
    /// <summary>Flows one browser may have open per provider; starting another drops the one that expires first.</summary>
    public const int MaxFlowsPerProvider = 4;

    /// <summary>Binding cookies read from one request; more than a few can only be someone filling the jar.</summary>
    private const int MaxBindings = 4;

    /// <summary>Flow cookies examined when a flow starts; planted ones beyond this are not even opened.</summary>
    private const int MaxFlowCookiesExamined = 16;

    /// <summary>
    /// Longest flow cookie value read: browsers need keep no more than 4096 bytes per cookie (RFC 6265 §6.1), and the
    /// broker's own are shorter (<c>FlowCookieTests</c>); anything longer was not set by the broker.
    /// </summary>
    private const int MaxFlowCookieLength = 4096;

    /// <summary>Characters of the binding value's fingerprint that name its cookie.</summary>
    private const int BindingIdLength = 8;

    /// <summary>Long enough to outlive any flow, short enough not to become a tracking id.</summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// A flow cookie outlives its flow by this much, so a late callback still finds the flow and answers
    /// <c>flow_expired</c> on the return page, rather than the bare <c>invalid_state</c> of an unknown state.
    /// </summary>
    private static readonly TimeSpan FlowCookieGrace = TimeSpan.FromMinutes(5);

    private bool Secure => options.Value.PublicBase.Scheme == Uri.UriSchemeHttps;

    /// <summary>
    /// Prefix of the binding cookies' names: <c>__Host-</c> when served over HTTPS, so the browser refuses them from
    /// subdomains or over http (RFC 6265bis §4.1.3.2; they are <c>Path=/</c>).
    /// </summary>
    public string CookiePrefix => Secure ? "__Host-oauth-browser-" : "oauth-browser-";

    /// <summary>
    /// Flow cookies carry a path, so their prefix is <c>__Secure-</c> (RFC 6265bis §4.1.3.1; <c>__Host-</c> requires
    /// <c>Path=/</c>, and a <c>Path=/</c> flow cookie would ride on every request to the broker). A sibling subdomain
    /// can therefore plant one. It does not open as a flow: only a value sealed by the broker for this very state
    /// (the cookie's name is the state's fingerprint), provider and browser-binding cookie (which is <c>__Host-</c>)
    /// does. Nor does it count towards the browser's flows: <see cref="IssueFlowAsync"/> opens each before it evicts.
    /// </summary>
    public string FlowCookiePrefix => Secure ? "__Secure-oauth-flow-" : "oauth-flow-";

    /// <summary>The browser's binding values (usually one), in a stable order; empty when it sent none.</summary>
    public IReadOnlyList<string> Read(HttpContext context)
    {
        var prefix = CookiePrefix;
        return [.. context.Request.Cookies
            .Where(c => c.Key.Length == prefix.Length + BindingIdLength && c.Key.StartsWith(prefix, StringComparison.Ordinal) && FlowSecrets.IsOpaqueValue(c.Value))
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => c.Value)
            .Take(MaxBindings)];
    }

    /// <summary>
    /// The browser's binding, issuing a new cookie when it has none; the lifetime restarts on every flow. A new one gets
    /// a name of its own, so concurrent first flows do not overwrite each other's binding.
    /// </summary>
    public string GetOrIssue(HttpContext context)
    {
        var value = Read(context) is [var held, ..] ? held : FlowSecrets.NewOpaqueValue();
        context.Response.Cookies.Append(CookiePrefix + FlowSecrets.Fingerprint(value)[..BindingIdLength], value, new CookieOptions
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
    /// this provider, expires the ones that end first. Only cookies that open as this browser's flows count, ranked by
    /// their authenticated expiry: a value the broker did not seal for this browser (planted by a sibling subdomain,
    /// altered, or under a retired key) is never a reason to drop a real flow.
    /// </summary>
    public async Task IssueFlowAsync(HttpContext context, string providerId, StartedFlow flow, string browserBinding, CT ct)
    {
        var prefix = FlowCookiePrefix;
        var candidates = context.Request.Cookies
            .Where(c => c.Key.Length == prefix.Length + SealedFlows.CookieIdLength && c.Key.StartsWith(prefix, StringComparison.Ordinal) && c.Value.Length <= MaxFlowCookieLength)
            .Take(MaxFlowCookiesExamined)
            .ToList();
        var held = new List<(string Name, DateTimeOffset ExpiresAt)>();
        var browserFingerprint = FlowSecrets.Fingerprint(browserBinding);
        foreach (var (name, value) in candidates)
        {
            if (await sealedFlows.OpenAsync(name[prefix.Length..], providerId, value, ct) is { } opened
                && FlowSecrets.FingerprintsEqual(opened.BrowserFingerprint, browserFingerprint))
            {
                held.Add((name, opened.ExpiresAt));
            }
        }

        foreach (var (name, _) in held.OrderBy(h => h.ExpiresAt).Take(Math.Max(0, held.Count - (MaxFlowsPerProvider - 1))))
        {
            context.Response.Cookies.Delete(name, FlowCookieOptions(providerId, TimeSpan.Zero));
        }

        context.Response.Cookies.Append(prefix + flow.CookieId, flow.SealedFlow, FlowCookieOptions(providerId, options.Value.FlowLifetime + FlowCookieGrace));
    }

    /// <summary>The sealed flow this browser holds for <paramref name="state"/>, or null.</summary>
    public string? ReadFlow(HttpContext context, string state) =>
        context.Request.Cookies[FlowCookiePrefix + AuthorizationFlowService.CookieIdFor(state)] is { Length: > 0 and <= MaxFlowCookieLength } value ? value : null;

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
