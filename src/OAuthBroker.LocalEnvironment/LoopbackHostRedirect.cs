namespace OAuthBroker.LocalEnvironment;

/// <summary>
/// <c>localhost</c> and <c>127.0.0.1</c> are different origins to a browser: the browser-binding cookie set on one is not
/// sent to the other, and the providers send the browser back to the one in <c>Broker:PublicBaseUrl</c>. So a page opened
/// on the other name is sent to the public one before anything starts (GET of the demo and the root only; the API answers
/// wherever it is called).
/// </summary>
public sealed class LoopbackHostRedirect(Uri publicBase) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            var request = context.Request;
            var page = request.Path == "/" || request.Path.StartsWithSegments("/demo");
            // Only the other name for the same listener: a request on another port (a custom handler's) is left alone.
            var otherName = request.Host.Port == publicBase.Port && !string.Equals(request.Host.Host, publicBase.Host, StringComparison.OrdinalIgnoreCase);
            if (HttpMethods.IsGet(request.Method) && page && otherName)
            {
                context.Response.Redirect(new Uri(publicBase, request.PathBase + request.Path + request.QueryString).AbsoluteUri, permanent: false, preserveMethod: true);
                return Task.CompletedTask;
            }

            return nextMiddleware(context);
        });
        next(app);
    };
}
