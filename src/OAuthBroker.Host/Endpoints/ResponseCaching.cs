using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Net.Http.Headers;

namespace OAuthBroker.Host.Endpoints;

public static class ResponseCaching
{
    /// <summary>Nothing the broker answers about flows, links or credentials may be kept by a browser or a proxy (RFC 6749 §5.1).</summary>
    public static void NoStore(this HttpResponse response)
    {
        response.Headers[HeaderNames.CacheControl] = "no-store";
        response.Headers[HeaderNames.Pragma] = "no-cache";
    }

    /// <summary>
    /// Every response, whoever writes it (endpoints, status-code pages, the rate limiter's 429, routing's 404/405, the
    /// exception handler): <c>Cache-Control: no-store</c>, <c>X-Content-Type-Options: nosniff</c> (a problem body is never
    /// sniffed into something runnable), and <c>Vary: Origin</c> where a CORS policy answers, since the answer then
    /// depends on the Origin header (Fetch standard, "CORS protocol and HTTP caches").
    /// </summary>
    public static IApplicationBuilder UseBrokerResponseHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            context.Response.NoStore();
            var headers = context.Response.Headers;
            headers[HeaderNames.XContentTypeOptions] = "nosniff";
            if (context.GetEndpoint()?.Metadata.GetMetadata<ICorsMetadata>() is not null
                && !headers.Vary.Any(v => v?.Contains(HeaderNames.Origin, StringComparison.OrdinalIgnoreCase) == true))
            {
                headers.Append(HeaderNames.Vary, HeaderNames.Origin);
            }

            return Task.CompletedTask;
        });
        return next(context);
    });
}
