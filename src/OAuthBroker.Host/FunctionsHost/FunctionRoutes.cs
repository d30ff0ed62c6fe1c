using System.Text.Json;
using Microsoft.AspNetCore.Routing.Constraints;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// The requests the Functions host can send the handler, read from the script root the handler was started in:
/// for each HTTP function its route (<c>routePrefix</c> + <c>route</c>, or the function's name when no route is given)
/// and methods, matched with ASP.NET Core's <see cref="Route"/> and inline constraints as the host's route manager
/// does (azure-functions-host <c>WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs:48-68</c>, azure-webjobs-sdk-extensions
/// <c>src/WebJobs.Extensions.Http/Routing/WebJobsRouteBuilder.cs:49-72</c>); for every other trigger a <c>POST</c> to
/// <c>/{FunctionName}</c> (<c>DefaultHttpWorkerService.cs:179-184</c>).
/// </summary>
public sealed class FunctionRoutes
{
    private readonly RouteCollection _routes = new();
    private readonly HashSet<string> _otherTriggers = new(StringComparer.OrdinalIgnoreCase);

    private FunctionRoutes()
    {
    }

    public int Count { get; private set; }

    public static FunctionRoutes Load(string scriptRoot, IInlineConstraintResolver constraints)
    {
        var routes = new FunctionRoutes();
        var prefix = RoutePrefix(Path.Combine(scriptRoot, "host.json"));
        foreach (var file in Directory.EnumerateFiles(scriptRoot, "function.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(Path.GetDirectoryName(file))!;
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var trigger = document.RootElement.GetProperty("bindings").EnumerateArray()
                .First(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase));
            if (!string.Equals(trigger.GetProperty("type").GetString(), "httpTrigger", StringComparison.OrdinalIgnoreCase))
            {
                routes._otherTriggers.Add(name);
                routes.Count++;
                continue;
            }

            var template = trigger.TryGetProperty("route", out var route) && route.GetString() is { Length: > 0 } r ? r : name;
            var methodConstraints = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            if (trigger.TryGetProperty("methods", out var methods) && methods.ValueKind == JsonValueKind.Array)
            {
                methodConstraints.Add("httpMethod", new HttpMethodRouteConstraint(methods.EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToArray()));
            }

            routes._routes.Add(new Route(new RouteHandler(_ => Task.CompletedTask), name, string.IsNullOrEmpty(prefix) ? template : prefix + "/" + template,
                new RouteValueDictionary(), methodConstraints, new RouteValueDictionary(), constraints));
            routes.Count++;
        }

        return routes;
    }

    /// <summary>True when some function's route (with its constraints and methods) matches the request as it arrived.</summary>
    public async Task<bool> CouldHaveSentAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (HttpMethods.IsPost(context.Request.Method) && path.Length > 1 && path.IndexOf('/', 1) < 0 && _otherTriggers.Contains(path[1..]))
        {
            return true;
        }

        var routing = new RouteContext(context);
        await _routes.RouteAsync(routing);
        return routing.Handler is not null;
    }

    private static string RoutePrefix(string hostJson)
    {
        if (!File.Exists(hostJson))
        {
            return "api";
        }

        using var host = JsonDocument.Parse(File.ReadAllText(hostJson));
        return host.RootElement.TryGetProperty("extensions", out var extensions) && extensions.TryGetProperty("http", out var http)
            && http.TryGetProperty("routePrefix", out var prefix) ? prefix.GetString() ?? "" : "api";
    }
}
