using System.Text.Json;

namespace OAuthBroker.LocalEnvironment;

/// <summary>
/// <c>GET /demo/received-events</c> on the local run's broker: what its webhook receiver got, for the demo page's
/// "Events received" panel (the page cannot reach the receiver itself, whose certificate the browser does not trust).
/// Part of the local run only, added like <see cref="LoopbackHostRedirect"/>: the broker's own code has no such route,
/// so no deployed broker can serve it. It shows what the platform's receiver saw: every user's events, no secret.
/// </summary>
public sealed class ReceivedEventsFeed(DemoWebhookReceiver? receiver) : IStartupFilter
{
    public const string Path = "/demo/received-events";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            if (!(HttpMethods.IsGet(context.Request.Method) && context.Request.Path == Path))
            {
                await nextMiddleware(context);
                return;
            }

            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            // receiver null: this local run was started without one; the page says so.
            await context.Response.WriteAsJsonAsync(new { receiver = receiver?.Url.AbsoluteUri, events = receiver?.Events ?? [] }, Json, context.RequestAborted);
        });
        next(app);
    };
}
