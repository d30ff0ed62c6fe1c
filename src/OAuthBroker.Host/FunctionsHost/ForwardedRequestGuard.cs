using Microsoft.AspNetCore.Routing.Constraints;
using OAuthBroker.Errors;
using OAuthBroker.Host.Endpoints;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// Under the Functions host, refuses any request whose method and path no function could have produced. The host
/// matches routes on the decoded path and rebuilds the forwarded URL with <c>new Uri(...)</c>, which turns <c>\</c> into
/// <c>/</c>, resolves <c>..</c> and ends the path at a decoded <c>?</c> or <c>#</c>; with a loose route a request for an
/// anonymous function could arrive here as a backend route. The function.json routes constrain every parameter so that
/// cannot happen; this check makes the handler hold the host to it, so a route loosened later fails closed here.
/// </summary>
public sealed partial class ForwardedRequestGuard(FunctionRoutes routes, ILogger<ForwardedRequestGuard> logger) : IMiddleware
{
    private static readonly BrokerError NotAFunctionRoute = new("unknown_route", 404, "No such route",
        "No function of this app serves this method and path.");

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (await routes.CouldHaveSentAsync(context))
        {
            await next(context);
            return;
        }

        // The path may carry account ids; the method is enough to investigate with the host's own request log.
        LogRefused(logger, context.Request.Method);
        await Problems.From(NotAFunctionRoute).ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a forwarded {Method} request whose path no function route produces")]
    private static partial void LogRefused(ILogger logger, string method);
}

public static class ForwardedRequestGuardExtensions
{
    /// <summary>Registers the guard when the app runs under the Functions host (the routes come from the script root).</summary>
    public static void AddForwardedRequestGuard(this WebApplicationBuilder builder)
    {
        if (!FunctionsHostIntegration.IsUnderFunctionsHost(builder.Configuration))
        {
            return;
        }

        // function.json routes use the regex inline constraint, which the slim builder leaves out.
        builder.Services.AddRoutingCore().Configure<RouteOptions>(o => o.SetParameterPolicy<RegexInlineRouteConstraint>("regex"));
        var scriptRoot = builder.Configuration[FunctionsHostIntegration.AppRootVariable] is { Length: > 0 } root ? root : AppContext.BaseDirectory;
        builder.Services.AddSingleton(sp =>
        {
            var routes = FunctionRoutes.Load(scriptRoot, sp.GetRequiredService<IInlineConstraintResolver>());
            return routes.Count > 0 ? routes : throw new InvalidOperationException($"No function.json under {scriptRoot}: the Functions host started the handler outside its script root.");
        });
        builder.Services.AddSingleton<ForwardedRequestGuard>();
    }

    public static void UseForwardedRequestGuard(this WebApplication app)
    {
        if (app.Services.GetService<FunctionRoutes>() is not null)
        {
            app.UseMiddleware<ForwardedRequestGuard>();
        }
    }
}
