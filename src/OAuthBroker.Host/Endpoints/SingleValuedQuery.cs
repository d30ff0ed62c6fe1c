using OAuthBroker.Errors;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// Refuses a request in which a parameter that must appear once appears more than once, before the endpoint runs (so
/// before any flow or ticket is consumed). Standalone, a repeat arrives as a second value. Under the Functions host it
/// arrives comma-joined: the host rebuilds the query from <c>StringValues.ToString()</c> (azure-functions-host
/// <c>src/WebJobs.Script/Extensions/HttpRequestExtensions.cs:231-240</c>), so <c>code=A&amp;code=B</c> reaches the app as
/// <c>code=A,B</c>. For the parameters named here a comma is therefore a repeat: the broker's own state and tickets are
/// base64url, and no provider this broker speaks to puts a comma in a code, error or issuer.
/// </summary>
public sealed class SingleValuedQuery : IEndpointFilter
{
    /// <summary>The single-valued parameters of each OAuth endpoint, by the end of its route.</summary>
    private static readonly (string RouteEnd, string[] Names)[] ByRoute =
    [
        ("/callback", ["code", "state", "error", "iss"]),
        ("/authorize", ["ticket"]),
    ];

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var route = (context.HttpContext.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "";
        var names = ByRoute.FirstOrDefault(r => route.EndsWith(r.RouteEnd, StringComparison.Ordinal)).Names ?? [];
        var query = context.HttpContext.Request.Query;
        var repeated = names.FirstOrDefault(name => query[name].Count > 1 || query[name].ToString().Contains(',', StringComparison.Ordinal));
        if (repeated is null)
        {
            return await next(context);
        }

        // The URL may carry a code: nothing of it may travel on in a Referer.
        context.HttpContext.Response.Headers["Referrer-Policy"] = "no-referrer";
        return Problems.From(BrokerErrors.InvalidParameter(repeated, "must appear at most once (a comma counts as a repeat: the Functions host joins repeated parameters with one)"));
    }
}

public static class SingleValuedQueryExtensions
{
    /// <summary>Puts <see cref="SingleValuedQuery"/> in front of every endpoint mapped on the returned builder.</summary>
    public static RouteGroupBuilder WithSingleValuedQueries(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("");
        group.AddEndpointFilter<SingleValuedQuery>();
        return group;
    }
}
