using System.Globalization;
using System.Text.Json;

namespace OAuthBroker.Providers.Http;

/// <summary>Tolerant readers for provider JSON, whose field types drift (numbers as strings and back).</summary>
public static class JsonReading
{
    public static string? StringProperty(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    public static long? IntegerProperty(this JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt64(out var number) => number,
            JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };
    }

    public static JsonElement? ObjectProperty(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : null;

    public static IReadOnlyList<string> StringArrayProperty(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(item => item.ValueKind == JsonValueKind.String).Select(item => item.GetString()!).ToArray()
            : [];

    /// <summary>A string or number at a dotted path (<c>sub</c>, <c>data.self.user_id</c>), or null.</summary>
    public static string? PathValue(this JsonElement element, string path)
    {
        var parts = path.Split('.');
        var current = element;
        foreach (var part in parts[..^1])
        {
            if (current.ObjectProperty(part) is not { } next)
            {
                return null;
            }

            current = next;
        }

        return current.StringProperty(parts[^1]);
    }
}
