using System.Reflection;
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
        app.MapGet("/demo/{file?}", (string? file, HttpContext context) => Serve(file ?? "index.html", context));
    }

    private static IResult Serve(string file, HttpContext context)
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
        headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XContentTypeOptions = "nosniff";
        context.Response.NoStore();
        return TypedResults.Stream(stream, contentType);
    }
}
