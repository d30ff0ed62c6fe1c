using Microsoft.AspNetCore.Routing.Constraints;
using OAuthBroker.Errors;
using OAuthBroker.Host.Endpoints;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// Under the Functions host, two checks on every request the host forwards:
/// <list type="number">
/// <item><b>No path rewritten through the scheme or host.</b> The host forwards <c>new Uri(GetDisplayUrl()).AbsolutePath</c>,
/// and the display URL is scheme + host + path; on Linux hosting its <c>AppServiceHeaderFixupMiddleware</c> first sets the
/// scheme from the first <c>X-Forwarded-Proto</c> value and the Host from <c>DISGUISED-HOST</c>, unchecked
/// (azure-functions-host <c>src/WebJobs.Script.WebHost/Middleware/AppServiceHeaderFixupMiddleware.cs:23-40</c>, registered
/// at <c>WebJobsApplicationBuilderExtension.cs:80-83</c>). A scheme such as <c>http://x/RefreshTokens#</c> makes any
/// anonymous function's request arrive here as <c>/RefreshTokens</c>. Both headers are copied to the forwarded request,
/// so the handler sees what the host used: anything but <c>http</c>/<c>https</c>, or a host that is not a host name or
/// address with an optional port, is refused (400). Whether the front end lets a client's values through is
/// UNCONFIRMED; this check holds either way.</item>
/// <item><b>Only a path some function produces.</b> The method and path must match some function.json route with its
/// constraints, or be the POST a non-HTTP trigger gets (404 otherwise).</item>
/// </list>
/// What this cannot do: the forwarded request does not say which function the host matched, so a request that the host
/// matched as one function but forwarded as another function's valid path passes the second check. That is prevented
/// only by the routes themselves (every parameter constrained so a decoded <c>\</c>, <c>/</c>, <c>?</c>, <c>#</c>,
/// <c>%</c>, dot segment or look-alike cannot match; <c>FunctionRouteConstraintTests</c> runs each constraint against
/// them), by the first check, and by every backend route authenticating its caller itself.
/// </summary>
public sealed partial class ForwardedRequestGuard(FunctionRoutes routes, ILogger<ForwardedRequestGuard> logger) : IMiddleware
{
    private static readonly BrokerError NotAFunctionRoute = new("unknown_route", 404, "No such route",
        "No function of this app serves this method and path.");

    private static readonly BrokerError RewrittenPath = new("invalid_forwarding_header", 400, "Invalid forwarding header",
        "X-Forwarded-Proto must be http or https and DISGUISED-HOST a host name with an optional port.");

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (ForwardingHeaders.CouldRewriteThePath(context.Request) is { } header)
        {
            LogRewritten(logger, context.Request.Method, header);
            await Problems.From(RewrittenPath).ExecuteAsync(context);
            return;
        }

        if (await routes.CouldHaveSentAsync(context))
        {
            await next(context);
            return;
        }

        // The path may carry account ids; the method is enough to investigate with the host's own request log.
        LogRefused(logger, context.Request.Method);
        await Problems.From(NotAFunctionRoute).ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a forwarded {Method} request whose {Header} header could have rewritten its path at the host")]
    private static partial void LogRewritten(ILogger logger, string method, string header);

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
