using OAuthBroker.Providers;

namespace OAuthBroker.Host.Endpoints;

public static class ProviderEndpoints
{
    /// <summary>The enabled providers: id, display name, capabilities. No endpoints, client ids or secrets.</summary>
    public static void MapProviderEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/providers", (ProviderCatalog catalog) =>
            TypedResults.Ok(catalog.Descriptors.OrderBy(d => d.Id, StringComparer.Ordinal)))
            .RequireCors(EdgePolicies.FrontendCors)
            .RequireRateLimiting(EdgePolicies.AnonymousRateLimit);
}
