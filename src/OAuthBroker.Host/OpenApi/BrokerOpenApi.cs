using Microsoft.OpenApi;
using OAuthBroker.Events;

namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// The OpenAPI 3.1 description of the broker's HTTP API at <see cref="Route"/>, generated from the mapped endpoints
/// (<c>Microsoft.AspNetCore.OpenApi</c>), with the security schemes the README describes and the link-event webhook.
/// Frontends and backends generate clients from it, so a test checks that every mapped route is in it.
/// </summary>
public static class BrokerOpenApi
{
    public const string Route = "/api/openapi.json";

    public const string BackendKey = "backendKey";
    public const string AppRoleToken = "appRoleToken";
    public const string UserBearer = "userBearer";
    public const string FunctionKey = "functionKey";

    /// <summary>Routes only the platform's backends call (backend key or app-role token; a function key under the Functions host).</summary>
    private static readonly string[] BackendRoutes = ["api/links/{provider}/{accountId}/credential", "api/links/{provider}/{accountId}/refresh", "api/events"];

    /// <summary>Routes acting for a signed-in user (bearer JWT, Easy Auth, or the development identity).</summary>
    private static readonly string[] UserRoutes = ["api/links", "api/links/{provider}/{accountId}", "api/oauth/{provider}/start", "api/oauth/{provider}/complete"];

    public static IServiceCollection AddBrokerOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                Secure(operation, context.Document, context.Description.RelativePath ?? "");
                operation.Responses ??= new OpenApiResponses();
                operation.Responses.TryAdd("default", new OpenApiResponse
                {
                    Description = "An RFC 9457 problem document (application/problem+json) with a machine-readable `code`.",
                });
                return Task.CompletedTask;
            });
        });

    public static void MapBrokerOpenApi(this IEndpointRouteBuilder app) => app.MapOpenApi(Route);

    private static void Describe(OpenApiDocument document)
    {
        document.Info = new OpenApiInfo
        {
            Title = "OAuth broker",
            Version = "1",
            Description = "Links platform users' accounts at OAuth providers, keeps the credentials fresh and hands them to backends. Errors are RFC 9457 problem documents.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BackendKey] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "A backend's configured key (Backends:{name}:Key).",
        };
        document.Components.SecuritySchemes[AppRoleToken] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "An app-only token from Authentication:JwtAuthority carrying the app role OAuthBroker.Backend or OAuthBroker.Backend.{provider}.",
        };
        document.Components.SecuritySchemes[UserBearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "The signed-in user's token from Authentication:JwtAuthority (or Easy Auth's principal under App Service).",
        };
        document.Components.SecuritySchemes[FunctionKey] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "x-functions-key",
            Description = "Under the Azure Functions host only, on backend routes, in addition to the backend credential; never instead of it.",
        };

        // Note: MapOpenApi leaves its own route out of the description; clients should find it too.
        document.Paths ??= new OpenApiPaths();
        document.Paths[Route] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new()
                {
                    Summary = "This OpenAPI 3.1 description.",
                    Responses = new OpenApiResponses { ["200"] = new OpenApiResponse { Description = "The description (application/json)." } },
                },
            },
        };

        document.Webhooks ??= new Dictionary<string, IOpenApiPathItem>();
        document.Webhooks["linkEvent"] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Post] = new()
                {
                    Summary = "A link event, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature v1). See docs/events.md.",
                    Parameters =
                    [
                        Header(WebhookSigner.IdHeader, "The event id; the same on every attempt. Deduplicate by it."),
                        Header(WebhookSigner.TimestampHeader, "The attempt's time, Unix seconds."),
                        Header(WebhookSigner.SignatureHeader, "Space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>, one per secret."),
                    ],
                    RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = EventSchema() } },
                    },
                    Responses = new OpenApiResponses { ["2XX"] = new OpenApiResponse { Description = "Delivered. Anything else is retried." } },
                },
            },
        };
    }

    private static OpenApiParameter Header(string name, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Header,
        Required = true,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
    };

    private static OpenApiSchema EventSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "id", "type", "timestamp", "data" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["id"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. LinkEventTypes.All.Select(t => (System.Text.Json.Nodes.JsonNode)t)] },
            ["timestamp"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
            ["data"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Required = new HashSet<string> { "provider" },
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["provider"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    ["account_id"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    ["user_id"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    ["status"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    ["reason"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    ["revocation"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    ["retry_at"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
                },
            },
        },
    };

    /// <summary>The route's security schemes, any one of which suffices (one requirement per scheme).</summary>
    private static void Secure(OpenApiOperation operation, OpenApiDocument? document, string relativePath)
    {
        string[] alternatives = BackendRoutes.Contains(relativePath, StringComparer.Ordinal) ? [BackendKey, AppRoleToken]
            : UserRoutes.Contains(relativePath, StringComparer.Ordinal) ? [UserBearer]
            : [];
        foreach (var scheme in alternatives)
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, document)] = [] });
        }
    }
}
