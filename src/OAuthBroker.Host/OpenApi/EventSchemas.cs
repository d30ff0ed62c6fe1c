using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using OAuthBroker.Events;

namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// Schemas of the bodies <see cref="LinkEventJson"/> writes by hand (webhook payloads and event listings), which have
/// no CLR type the description could derive them from. A test checks real bodies against them.
/// </summary>
internal static class EventSchemas
{
    /// <summary>A webhook body: one event.</summary>
    public static OpenApiSchema Event() => EventWith(cursor: false);

    /// <summary>A <c>GET /api/events</c> answer.</summary>
    public static OpenApiSchema Page() => new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "events", "next" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["events"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = EventWith(cursor: true) },
            ["next"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String | JsonSchemaType.Null,
                Description = "The cursor to ask after next (null when the log is empty and no after was given).",
            },
        },
    };

    private static OpenApiSchema EventWith(bool cursor)
    {
        var schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "id", "type", "timestamp", "data" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Unique and the same on every attempt: deduplicate by it (the webhook-id)." },
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. LinkEventTypes.All.Select(t => (JsonNode)t)] },
                ["timestamp"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
                ["data"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { "provider" },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["provider"] = new OpenApiSchema { Type = JsonSchemaType.String },
                        ["account_id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Absent on provider-wide events." },
                        ["user_id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Absent on provider-wide events." },
                        ["status"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The link's status after the change (active, reauth_required, expired, deleted)." },
                        ["reason"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A short code saying why; never provider text." },
                        ["revocation"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = ["revoked", "not_supported_by_provider", "no_longer_possible"] },
                        ["retry_at"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
                    },
                },
            },
        };
        if (cursor)
        {
            schema.Required.Add("cursor");
            schema.Properties["cursor"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The event's place in the log: ask with after=<cursor>." };
        }

        return schema;
    }
}
