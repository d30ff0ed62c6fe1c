using System.Globalization;
using System.Text.Json;

namespace OAuthBroker.Storage.Tables;

/// <summary>
/// Reads and writes entities in the Table service's JSON format (OData minimal metadata): types that JSON
/// cannot express (Int64, DateTime, Guid, Binary) travel as strings with a <c>Name@odata.type</c> annotation.
/// </summary>
internal static class TableEntityJson
{
    private const string TypeSuffix = "@odata.type";

    public static byte[] Write(TableEntity entity)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("PartitionKey", entity.PartitionKey);
            json.WriteString("RowKey", entity.RowKey);
            foreach (var (name, value) in entity.Properties)
            {
                WriteProperty(json, name, value);
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteProperty(Utf8JsonWriter json, string name, object? value)
    {
        switch (value)
        {
            case null:
                // Omitted: a replace then removes it, a merge leaves it unchanged.
                break;
            case string text:
                json.WriteString(name, text);
                break;
            case bool flag:
                json.WriteBoolean(name, flag);
                break;
            case int number:
                json.WriteNumber(name, number);
                break;
            case long number:
                json.WriteString(name, number.ToString(CultureInfo.InvariantCulture));
                json.WriteString(name + TypeSuffix, "Edm.Int64");
                break;
            case double number:
                json.WriteNumber(name, number);
                json.WriteString(name + TypeSuffix, "Edm.Double");
                break;
            case DateTimeOffset instant:
                json.WriteString(name, instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                json.WriteString(name + TypeSuffix, "Edm.DateTime");
                break;
            case Guid id:
                json.WriteString(name, id.ToString("D"));
                json.WriteString(name + TypeSuffix, "Edm.Guid");
                break;
            case byte[] bytes:
                json.WriteString(name, Convert.ToBase64String(bytes));
                json.WriteString(name + TypeSuffix, "Edm.Binary");
                break;
            default:
                throw new NotSupportedException($"Property '{name}' has type {value.GetType().Name}, which Table Storage cannot hold.");
        }
    }

    public static TableEntity Read(JsonElement element)
    {
        var entity = new TableEntity(
            element.GetProperty("PartitionKey").GetString()!,
            element.GetProperty("RowKey").GetString()!);

        foreach (var property in element.EnumerateObject())
        {
            var name = property.Name;
            if (name is "PartitionKey" or "RowKey" || name.StartsWith("odata.", StringComparison.Ordinal) || name.EndsWith(TypeSuffix, StringComparison.Ordinal))
            {
                if (name == "odata.etag")
                {
                    entity.ETag = property.Value.GetString();
                }

                continue;
            }

            var type = element.TryGetProperty(name + TypeSuffix, out var annotation) ? annotation.GetString() : null;
            var value = ReadValue(property.Value, type);
            if (name == "Timestamp")
            {
                entity.Timestamp = value as DateTimeOffset? ?? (property.Value.ValueKind == JsonValueKind.String ? ParseDate(property.Value.GetString()!) : null);
                continue;
            }

            entity.Properties[name] = value;
        }

        return entity;
    }

    private static object? ReadValue(JsonElement value, string? edmType) => edmType switch
    {
        "Edm.Int64" => long.Parse(value.GetString()!, CultureInfo.InvariantCulture),
        "Edm.DateTime" => ParseDate(value.GetString()!),
        "Edm.Guid" => Guid.Parse(value.GetString()!),
        "Edm.Binary" => Convert.FromBase64String(value.GetString()!),
        "Edm.Double" => value.ValueKind == JsonValueKind.String
            ? double.Parse(value.GetString()!, CultureInfo.InvariantCulture)
            : value.GetDouble(),
        _ => value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when value.TryGetInt32(out var small) => small,
            JsonValueKind.Number => value.GetDouble(),
            _ => null,
        },
    };

    private static DateTimeOffset ParseDate(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
