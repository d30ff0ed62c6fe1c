using Microsoft.Net.Http.Headers;
using OAuthBroker.Errors;
using OAuthBroker.Flows;
using OAuthBroker.Host.Identity;

namespace OAuthBroker.Host.Endpoints;

/// <summary>The browser leg: start a flow (authorize) and finish it (callback).</summary>
public static class OAuthEndpoints
{
    private const int MaxCodeLength = 4096;
    private const int MaxStateLength = 512;
    private const int MaxErrorLength = 256;

    public static void MapOAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/oauth/{provider}/authorize", AuthorizeAsync);
        app.MapGet("/api/oauth/{provider}/callback", CallbackAsync);
    }

    private static async Task<IResult> AuthorizeAsync(
        string provider, HttpContext context, ICurrentUserResolver users, BrowserBinding binding, AuthorizationFlowService flows, CT ct)
    {
        NoStore(context);
        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        if (!SingleValued(context, out var duplicate, "returnUrl"))
        {
            return Problems.From(BrokerErrors.InvalidParameter(duplicate!, "must appear at most once"));
        }

        var userId = users.Resolve(context);
        if (userId is null)
        {
            return Problems.From(BrokerErrors.Unauthenticated);
        }

        var (url, error) = await flows.StartAsync(userId, provider, context.Request.Query["returnUrl"].ToString(), binding.GetOrIssue(context), ct);
        if (error is not null)
        {
            return Problems.From(error);
        }

        return WantsJson(context.Request)
            ? TypedResults.Ok(new { authorizationUrl = url!.AbsoluteUri })
            : TypedResults.Redirect(url!.AbsoluteUri);
    }

    private static async Task<IResult> CallbackAsync(
        string provider, HttpContext context, BrowserBinding binding, AuthorizationFlowService flows, CT ct)
    {
        NoStore(context);
        // RFC 9700 §4.2: the landing URL carries a code; no Referer may leak it onwards.
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        if (!SingleValued(context, out var duplicate, "code", "state", "error"))
        {
            return Problems.From(BrokerErrors.InvalidParameter(duplicate!, "must appear at most once"));
        }

        var query = context.Request.Query;
        string? code = query["code"], state = query["state"], error = query["error"];
        if (code?.Length > MaxCodeLength || state?.Length > MaxStateLength || error?.Length > MaxErrorLength)
        {
            return Problems.From(BrokerErrors.InvalidParameter("code/state/error", "is longer than any provider sends"));
        }

        var outcome = await flows.CompleteAsync(provider, new CallbackParameters(code, state, error), binding.Read(context), ct);
        // 302 with an empty body: the browser leaves the URL that carries the code at once (RFC 9700 §4.3).
        return outcome.RedirectTo is { } to ? TypedResults.Redirect(to.AbsoluteUri) : Problems.From(outcome.Problem!);
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

    private static void NoStore(HttpContext context)
    {
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.Headers[HeaderNames.Pragma] = "no-cache";
    }
}

public static class ProviderIds
{
    /// <summary>Provider ids are lowercase letters, digits and dashes, at most 32 characters.</summary>
    public static bool IsWellFormed(string value) =>
        value.Length is > 0 and <= 32 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
