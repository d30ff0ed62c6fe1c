using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Constraints;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// The host's HTTP function routes: for each HTTP trigger an ASP.NET Core <see cref="Route"/> on
/// <c>{routePrefix}/{route}</c> with its inline constraints, resolved by the default inline constraint resolver,
/// and an <see cref="HttpMethodRouteConstraint"/> when methods are listed, tried in order in one
/// <see cref="RouteCollection"/> (<c>WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs:37-97</c>; azure-webjobs-sdk-extensions
/// <c>src/WebJobs.Extensions.Http/Routing/WebJobsRouteBuilder.cs:49-91</c>, <c>Routing/WebJobsRouter.cs:52-74</c>). Route
/// matching runs on <c>HttpRequest.Path</c>: the path as Kestrel decoded it (every <c>%XX</c> except <c>%2F</c>). The host
/// orders functions as it lists the script root's folders; here they are in name order (the app's routes do not overlap).
/// </summary>
public sealed class FunctionRouter
{
    private const string FunctionNameToken = "AZUREWEBJOBS_FUNCTIONNAME";
    private readonly RouteCollection _routes = new();
    private readonly Dictionary<string, FunctionDefinition> _functions = new(StringComparer.OrdinalIgnoreCase);

    public FunctionRouter(ScriptRoot root, IInlineConstraintResolver constraints)
    {
        foreach (var function in root.Functions.Where(f => f.IsHttpTrigger))
        {
            var routeConstraints = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            if (function.Methods is { } methods)
            {
                routeConstraints.Add("httpMethod", new HttpMethodRouteConstraint(methods));
            }

            var template = string.IsNullOrEmpty(root.RoutePrefix) ? function.Route : root.RoutePrefix + '/' + function.Route;
            _routes.Add(new Route(new RouteHandler(_ => Task.CompletedTask), function.Name, template, new RouteValueDictionary(),
                routeConstraints, new RouteValueDictionary { [FunctionNameToken] = function.Name }, constraints));
            _functions[function.Name] = function;
        }
    }

    /// <summary>The function whose route matches the request, with the route values it matched; null when none does (404).</summary>
    public async Task<(FunctionDefinition Function, RouteValueDictionary Values)?> MatchAsync(HttpContext context)
    {
        var routing = new RouteContext(context);
        await _routes.RouteAsync(routing);
        if (routing.Handler is null)
        {
            return null;
        }

        return (_functions[(string)routing.RouteData.DataTokens[FunctionNameToken]!], routing.RouteData.Values);
    }
}
