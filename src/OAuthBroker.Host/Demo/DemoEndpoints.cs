using System.Reflection;
using Microsoft.Extensions.Options;
using OAuthBroker.Flows;
using OAuthBroker.Host.Endpoints;

namespace OAuthBroker.Host.Demo;

/// <summary>
/// The development demo page (Development environment only): pick a user, connect a provider in a pop-up,
/// see and unlink links. Plain files embedded in the assembly, served with a strict CSP and nothing third-party.
/// </summary>
public static class DemoEndpoints
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
    };

    public static void MapDemo(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => TypedResults.Redirect("/demo/"));
        app.MapGet("/favicon.ico", () => TypedResults.NoContent());
        app.MapGet("/demo/{file?}", (string? file, HttpContext context, IOptions<BrokerOptions> broker) => Serve(file ?? "index.html", context, broker));
    }

    private static IResult Serve(string file, HttpContext context, IOptions<BrokerOptions> broker)
    {
        var extension = Path.GetExtension(file);
        if (file.Contains('/', StringComparison.Ordinal) || !ContentTypes.TryGetValue(extension, out var contentType))
        {
            return TypedResults.NotFound();
        }

        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Demo/" + file);
        if (stream is null)
        {
            return TypedResults.NotFound();
        }

        var headers = context.Response.Headers;
        // connect-src also names the broker's public origin: the same files served as a frontend on another site talk to it.
        var brokerOrigin = broker.Value.PublicBase.GetLeftPart(UriPartial.Authority);
        headers.ContentSecurityPolicy = $"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' {brokerOrigin}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        // The origin only, never a path or query: the broker starts a challenge ticket only for a page whose Referer names
        // a configured frontend. The return page carries its completion code in the fragment, which no Referer carries.
        headers["Referrer-Policy"] = "strict-origin";
        headers.XContentTypeOptions = "nosniff";
        context.Response.NoStore();
        return TypedResults.Stream(stream, contentType);
    }
}
