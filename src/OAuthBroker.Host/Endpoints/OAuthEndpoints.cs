using System.Text.Json;
using OAuthBroker.Errors;
using OAuthBroker.Flows;
using OAuthBroker.Host.Identity;
using OAuthBroker.Providers;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// The browser leg: start a flow (authorize, or a start ticket for a single-page app; the flow travels sealed in a
/// cookie of the browser, nothing is stored), finish the provider leg (callback: a pending link and a one-time
/// completion code), and the completion step that makes it a link for the flow's own user, confirmed from the browser
/// that finished the provider leg or, for a flow started with a completion challenge, with its verifier.
/// </summary>
public static class OAuthEndpoints
{
    private const int MaxCodeLength = 4096;
    private const int MaxStateLength = 512;
    private const int MaxErrorLength = 256;
    private const int MaxExtraLength = 512;
    private const int MaxExtraCount = 16;
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "code", "state", "error", "iss" };

    public static void MapOAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/oauth/{provider}/authorize", AuthorizeAsync).RequireCors(EdgePolicies.FrontendCors).RequireRateLimiting(EdgePolicies.AnonymousRateLimit);
        app.MapPost("/api/oauth/{provider}/start", StartTicketAsync).RequireCors(EdgePolicies.FrontendCors).RequireRateLimiting(EdgePolicies.AnonymousRateLimit);
        // The callback is a top-level navigation from the provider: no CORS, but rate-limited.
        app.MapGet("/api/oauth/{provider}/callback", CallbackAsync).RequireRateLimiting(EdgePolicies.AnonymousRateLimit);
        app.MapPost("/api/oauth/{provider}/complete", CompleteAsync).RequireCors(EdgePolicies.FrontendCors).RequireRateLimiting(EdgePolicies.AnonymousRateLimit);
    }

    private static async Task<IResult> AuthorizeAsync(
        string provider, HttpContext context, ICurrentUserResolver users, BrowserBinding binding, AuthorizationFlowService flows, StartTickets tickets,
        ReturnUrlPolicy returnUrls, CT ct)
    {
        context.Response.NoStore();
        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        if (!SingleValued(context, out var duplicate, "returnUrl", "ticket"))
        {
            return Problems.From(BrokerErrors.InvalidParameter(duplicate!, "must appear at most once"));
        }

        string? userId;
        string? completionChallenge = null;
        var returnUrl = context.Request.Query["returnUrl"].ToString();
        if (context.Request.Query["ticket"].ToString() is { Length: > 0 } ticket)
        {
            // A pop-up opened by a single-page app: the ticket stands for the user and fixes the return URL.
            if (ticket.Length > 64 || returnUrl.Length > 0)
            {
                return Problems.From(BrokerErrors.InvalidParameter("ticket", "must be a start ticket, without a returnUrl beside it"));
            }

            var (redeemed, refusal) = await tickets.RedeemAsync(ticket, provider, context.Request.GetTypedHeaders().Referer, ct);
            if (refusal is not null)
            {
                return Problems.From(refusal);
            }

            (userId, returnUrl, completionChallenge) = (redeemed!.UserId, redeemed.ReturnUrl.AbsoluteUri, redeemed.CompletionChallenge);
        }
        else
        {
            if (!StartedFromTheSiteOrAFrontend(context.Request, returnUrls))
            {
                return Problems.From(BrokerErrors.CrossSiteStart);
            }

            userId = users.Resolve(context);
        }

        if (userId is null)
        {
            return Problems.From(BrokerErrors.Unauthenticated);
        }

        var browser = binding.GetOrIssue(context);
        var (started, error) = await flows.StartAsync(userId, provider, returnUrl, browser, completionChallenge, ct);
        if (error is not null)
        {
            return Problems.From(error);
        }

        await binding.IssueFlowAsync(context, provider, started!, browser, ct);
        return WantsJson(context.Request)
            ? TypedResults.Ok(new AuthorizationStarted(started!.AuthorizationUrl.AbsoluteUri))
            : TypedResults.Redirect(started!.AuthorizationUrl.AbsoluteUri);
    }

    /// <summary>
    /// For a single-page app on another origin: with the user's bearer token, a 60-second single-use ticket the pop-up
    /// presents on authorize, so the token itself never travels in a URL. With <c>completionChallenge</c> (the S256
    /// challenge of a verifier the app keeps), the completion step takes the verifier instead of the browser cookie,
    /// which an app on another site cannot send.
    /// </summary>
    private static async Task<IResult> StartTicketAsync(string provider, HttpContext context, ICurrentUserResolver users, StartTickets tickets, CT ct)
    {
        context.Response.NoStore();
        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        var userId = users.Resolve(context);
        if (userId is null)
        {
            return Problems.From(BrokerErrors.Unauthenticated);
        }

        if (!SingleValued(context, out var duplicate, "returnUrl", "completionChallenge"))
        {
            return Problems.From(BrokerErrors.InvalidParameter(duplicate!, "must appear at most once"));
        }

        var challenge = context.Request.Query["completionChallenge"].ToString();
        var (ticket, expiresAt, error) = await tickets.IssueAsync(userId, provider, context.Request.Query["returnUrl"].ToString(), challenge.Length > 0 ? challenge : null, ct);
        return error is not null
            ? Problems.From(error)
            : TypedResults.Ok(new StartTicketIssued(ticket!, expiresAt, $"/api/oauth/{provider}/authorize?ticket={Uri.EscapeDataString(ticket!)}"));
    }

    private static async Task<IResult> CallbackAsync(
        string provider, HttpContext context, BrowserBinding binding, AuthorizationFlowService flows, CT ct)
    {
        context.Response.NoStore();
        // RFC 9700 §4.2: the landing URL carries a code; no Referer may leak it onwards.
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        if (!SingleValued(context, out var duplicate, "code", "state", "error", "iss"))
        {
            return Problems.From(BrokerErrors.InvalidParameter(duplicate!, "must appear at most once"));
        }

        var query = context.Request.Query;
        string? code = query["code"], state = query["state"], error = query["error"], issuer = query["iss"];
        if (code?.Length > MaxCodeLength || state?.Length > MaxStateLength || error?.Length > MaxErrorLength || issuer?.Length > MaxExtraLength)
        {
            return Problems.From(BrokerErrors.InvalidParameter("code/state/error/iss", "is longer than any provider sends"));
        }

        // Whatever else the provider sent (Bybit: response_type, scope; WhiteBIT may deliver an API key) goes to the
        // dialect, bounded; repeated or oversized extras are dropped rather than guessed at.
        var extra = query.Where(p => !Reserved.Contains(p.Key) && p.Value.Count == 1 && p.Value[0]!.Length <= MaxExtraLength && p.Key.Length <= 64)
            .Take(MaxExtraCount)
            .ToDictionary(p => p.Key, p => p.Value[0]!, StringComparer.Ordinal);

        var sealedFlow = string.IsNullOrEmpty(state) ? null : binding.ReadFlow(context, state);
        var outcome = await flows.CompleteAsync(provider, new CallbackParameters(code, state, error, issuer, extra), binding.Read(context), sealedFlow, ct);
        if (sealedFlow is not null)
        {
            // Used (or refused) once: the browser drops it. Single use does not rest on this; the marker refuses a replay.
            binding.ForgetFlow(context, provider, state!);
        }

        // 302 with an empty body: the browser leaves the URL that carries the code at once (RFC 9700 §4.3).
        return outcome.RedirectTo is { } to ? TypedResults.Redirect(to.AbsoluteUri) : Problems.From(outcome.Problem!);
    }

    /// <summary>
    /// The completion step: the frontend posts the <c>oauth_completion</c> code from its return URL's fragment as JSON,
    /// with the user's credential and either the browser's cookies (<c>credentials: 'include'</c>) or, for a flow
    /// started with a completion challenge, the <c>verifier</c>. JSON only: a cross-site form cannot send it without a
    /// CORS preflight, which only the configured frontends pass.
    /// </summary>
    private static async Task<IResult> CompleteAsync(string provider, HttpContext context, ICurrentUserResolver users, BrowserBinding binding, LinkCompletionService completion, CT ct)
    {
        context.Response.NoStore();
        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        // Checked before the code is even read: an unauthenticated call must not use up the user's pending link.
        var userId = users.Resolve(context);
        if (userId is null)
        {
            return Problems.From(BrokerErrors.Unauthenticated);
        }

        if (await ReadCompletionAsync(context.Request, ct) is not { } body)
        {
            return Problems.From(BrokerErrors.InvalidParameter("completion",
                "must be the oauth_completion value from the return URL's fragment, sent as a JSON body {\"completion\": \"…\"} (and \"verifier\" when the flow " +
                "was started with a completion challenge) with Content-Type application/json"));
        }

        var (linked, error) = await completion.CompleteAsync(provider, body.Code, userId, binding.Read(context), body.Verifier, ct);
        return error is not null ? Problems.From(error) : TypedResults.Ok(linked);
    }

    /// <summary><c>{"completion": "…", "verifier": "…"}</c>, the verifier optional; null when the body is not that.</summary>
    private static async Task<(string Code, string? Verifier)?> ReadCompletionAsync(HttpRequest request, CT ct)
    {
        if (!request.HasJsonContentType())
        {
            return null;
        }

        try
        {
            var body = await request.ReadFromJsonAsync(EndpointJsonContext.Default.JsonElement, ct);
            if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("completion", out var code) || code.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            if (!body.TryGetProperty("verifier", out var verifier))
            {
                return (code.GetString()!, null);
            }

            return verifier.ValueKind == JsonValueKind.String ? (code.GetString()!, verifier.GetString()) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Without a ticket, authorize starts a flow for whoever the browser's cookies say (Easy Auth, the development
    /// identity): a login-CSRF-style start from another site's link would then run the flow, and where the provider
    /// skips consent, finish it, without the user asking. A browser states who caused the request (Fetch Metadata,
    /// W3C "Fetch Metadata Request Headers", the <c>Sec-Fetch-Site</c> header): <c>same-origin</c> (the broker's own pages) and
    /// <c>none</c> (typed, bookmarked) pass; <c>same-site</c> or <c>cross-site</c> only from a page of a configured
    /// frontend, by its Referer (which a page cannot forge; one sent with no-referrer is refused). A request without
    /// the header (a non-browser client, or a browser too old to send it) is not judged here.
    /// </summary>
    private static bool StartedFromTheSiteOrAFrontend(HttpRequest request, ReturnUrlPolicy returnUrls)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length == 0 || site is "same-origin" or "none")
        {
            return true;
        }

        return request.GetTypedHeaders().Referer is { } referer && returnUrls.IsFrontendOrigin(referer);
    }

    private static bool WantsJson(HttpRequest request) =>
        request.GetTypedHeaders().Accept is { Count: > 0 } accept &&
        accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)) &&
        !accept.Any(a => a.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase));

    private static bool SingleValued(HttpContext context, out string? duplicate, params string[] names)
    {
        duplicate = names.FirstOrDefault(name => context.Request.Query[name].Count > 1);
        return duplicate is null;
    }
}
