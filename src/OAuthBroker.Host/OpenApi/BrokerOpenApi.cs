using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using OAuthBroker.Events;
using OAuthBroker.Host.Endpoints;

namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// The OpenAPI 3.1 description of the broker's HTTP API at <see cref="Route"/>, generated from the mapped endpoints
/// (<c>Microsoft.AspNetCore.OpenApi</c>), with the security schemes the README describes and the link-event webhook.
/// Each route's answers come from <see cref="RouteContracts"/>: the success body's schema (derived from its CLR type with
/// the app's JSON options, or <see cref="EventSchemas"/>) and one RFC 9457 problem response per status with its codes.
/// Frontends and backends generate clients from it, so tests check it against the mapped routes, real bodies, the error
/// catalogue and the README. Generated on the first request and kept for the process (<see cref="OpenApiDescriptionCache"/>);
/// served under the same per-client rate limit as the other anonymous routes.
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
        services.AddSingleton<OpenApiDescriptionCache>().AddOpenApi(options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, _, _) =>
            {
                OmittedWhenNull(schema);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, ct) =>
            {
                var route = context.Description.RelativePath ?? "";
                Secure(operation, context.Document, route);
                operation.Responses ??= new OpenApiResponses();
                if (RouteContracts.ByRoute.TryGetValue($"{context.Description.HttpMethod} {route}", out var contract))
                {
                    DescribeInputs(operation, contract);
                    await DescribeAnswersAsync(operation, contract, context, ct);
                }

                operation.Responses.TryAdd("default", new OpenApiResponse
                {
                    Description = "An RFC 9457 problem document (application/problem+json) with a machine-readable `code`.",
                });
            });
        });

    public static void MapBrokerOpenApi(this IEndpointRouteBuilder app) =>
        app.MapGet(Route, async (OpenApiDescriptionCache description) => TypedResults.Bytes(await description.GetAsync(), "application/json;charset=utf-8"))
            .RequireRateLimiting(EdgePolicies.AnonymousRateLimit);

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
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = EventSchemas.Event() } },
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

    /// <summary>
    /// The app writes no null members (<c>JsonIgnoreCondition.WhenWritingNull</c>, BrokerApp), so a member that can be null
    /// may be absent: it is not required, whatever the constructor says.
    /// </summary>
    private static void OmittedWhenNull(OpenApiSchema schema)
    {
        if (schema.Required is not { Count: > 0 } required || schema.Properties is null)
        {
            return;
        }

        foreach (var name in required.ToArray())
        {
            if (schema.Properties.TryGetValue(name, out var property) && property.Type is { } type && type.HasFlag(JsonSchemaType.Null))
            {
                required.Remove(name);
            }
        }
    }

    /// <summary>
    /// The route's success answer with its body's schema, and one problem response per status it can fail with, listing
    /// the <c>code</c>s (and their <c>type</c> URNs) it can carry.
    /// </summary>
    private static async Task DescribeAnswersAsync(OpenApiOperation operation, RouteContract contract, OpenApiOperationTransformerContext context, CT ct)
    {
        var responses = operation.Responses!;
        if (contract.Redirects)
        {
            responses["302"] = new OpenApiResponse
            {
                Description = contract.Status == 302 ? contract.Description : "To the provider's authorization endpoint (a browser navigation).",
                Headers = new Dictionary<string, IOpenApiHeader> { ["Location"] = new OpenApiHeader { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uri" } } },
            };
        }

        if (contract.Body is not null || contract.Schema is not null)
        {
            var schema = contract.Schema is { } written ? written() : await context.GetOrCreateSchemaAsync(contract.Body!, null, ct);
            responses[contract.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = contract.Description,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        }

        foreach (var byStatus in contract.Problems.Distinct(StringComparer.Ordinal).GroupBy(code => ProblemCodes.Status[code]).OrderBy(g => g.Key))
        {
            responses[byStatus.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = "A problem: " + string.Join(", ", byStatus) + ".",
                Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = ProblemSchema(byStatus.Key, [.. byStatus]) } },
            };
        }
    }

    /// <summary>RFC 9457 §3.1 members, with the broker's <c>code</c> extension (§3.2) and <c>type</c> URN per code.</summary>
    private static OpenApiSchema ProblemSchema(int status, string[] codes) => new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "type", "title", "status", "code" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. codes.Select(c => (JsonNode)(Problems.TypePrefix + c.Replace('_', '-')))] },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Enum = [(JsonNode)status] },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. codes.Select(c => (JsonNode)c)] },
            ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String },
        },
    };

    /// <summary>What the endpoint reads from the request itself, which the generator cannot see in its delegate.</summary>
    private static void DescribeInputs(OpenApiOperation operation, RouteContract contract)
    {
        foreach (var input in contract.Query)
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = input.Name,
                In = ParameterLocation.Query,
                Required = input.Required,
                Description = input.Description,
                Schema = new OpenApiSchema { Type = input.Type },
            });
        }

        if (contract.RequestBody is { } body)
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = body() } },
            };
        }
    }

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
