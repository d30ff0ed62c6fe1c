using System.Text.Json;

namespace OAuthBroker.Tests.Host;

/// <summary>Whether a real JSON body fits a schema of the broker's OpenAPI description.</summary>
internal static class DescribedSchemas
{
    /// <summary>Every member the body has is described with a matching JSON type, and every required one is there.</summary>
    public static void Fits(JsonElement document, JsonElement body, JsonElement schema, string where)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!["#/components/schemas/".Length..]);
        }

        if (schema.TryGetProperty("enum", out var values))
        {
            values.EnumerateArray().Select(v => v.ToString()).ShouldContain(body.ToString(), where);
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToArray() : [type.GetString()!];
            types.ShouldContain(JsonTypeOf(body), $"{where}: {body.ValueKind}");
        }

        if (body.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            foreach (var item in body.EnumerateArray())
            {
                Fits(document, item, items, where + "[]");
            }
        }

        if (body.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties))
        {
            foreach (var member in body.EnumerateObject())
            {
                properties.TryGetProperty(member.Name, out var described).ShouldBeTrue($"{where}.{member.Name} is not described");
                Fits(document, member.Value, described, where + "." + member.Name);
            }

            if (schema.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                {
                    body.TryGetProperty(name, out _).ShouldBeTrue($"{where}.{name} is required");
                }
            }
        }
    }

    private static string JsonTypeOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };
}
