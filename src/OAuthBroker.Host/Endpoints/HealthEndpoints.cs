namespace OAuthBroker.Host.Endpoints;

public static class HealthEndpoints
{
    /// <summary>Liveness only: answers without touching storage, so the Functions host sees the handler up fast.</summary>
    public static void MapHealthEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/health", () => TypedResults.Ok(new HealthStatus("ok")));
}
