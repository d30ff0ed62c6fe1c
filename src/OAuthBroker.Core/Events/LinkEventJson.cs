using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OAuthBroker.Events;

/// <summary>
/// The one JSON shape of an event, used for the webhook body, the listing and storage alike:
/// <c>{"id","type","timestamp","data":{…}}</c>, the Standard Webhooks payload structure (<c>type</c>, <c>timestamp</c>,
/// <c>data</c>; standard-webhooks/standard-webhooks <c>spec/standard-webhooks.md</c>, "Payload structure") plus the id.
/// Written minified and byte-for-byte the same every time, so the body signed is the body sent.
/// </summary>
public static class LinkEventJson
{
    public static byte[] Serialize(LinkEvent e)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, e);
        }

        return buffer.ToArray();
    }

    public static string SerializeToString(LinkEvent e) => Encoding.UTF8.GetString(Serialize(e));

    /// <param name="cursor">The event's place in the log, for listings (webhook bodies carry none).</param>
    public static void Write(Utf8JsonWriter writer, LinkEvent e, string? cursor = null)
    {
        writer.WriteStartObject();
        if (cursor is not null)
        {
            writer.WriteString("cursor", cursor);
        }

        writer.WriteString("id", e.Id);
        writer.WriteString("type", e.Type);
        writer.WriteString("timestamp", e.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        writer.WriteStartObject("data");
        writer.WriteString("provider", e.ProviderId);
        WriteIfSet(writer, "account_id", e.AccountId);
        WriteIfSet(writer, "user_id", e.UserId);
        WriteIfSet(writer, "status", e.Status);
        WriteIfSet(writer, "reason", e.Reason);
        WriteIfSet(writer, "revocation", e.Revocation);
        if (e.RetryAt is { } retryAt)
        {
            writer.WriteString("retry_at", retryAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static LinkEvent Read(JsonElement root)
    {
        var data = root.GetProperty("data");
        return new LinkEvent
        {
            Id = root.GetProperty("id").GetString()!,
            Type = root.GetProperty("type").GetString()!,
            OccurredAt = DateTimeOffset.Parse(root.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            ProviderId = data.GetProperty("provider").GetString()!,
            AccountId = StringOrNull(data, "account_id"),
            UserId = StringOrNull(data, "user_id"),
            Status = StringOrNull(data, "status"),
            Reason = StringOrNull(data, "reason"),
            Revocation = StringOrNull(data, "revocation"),
            RetryAt = StringOrNull(data, "retry_at") is { } at ? DateTimeOffset.Parse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null,
        };
    }

    public static LinkEvent Read(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Read(document.RootElement);
    }

    /// <summary>A row's outbox: a JSON array of events (null when there is none).</summary>
    public static string? SerializeList(IReadOnlyList<LinkEvent> events)
    {
        if (events.Count == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var e in events)
            {
                Write(writer, e);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static IReadOnlyList<LinkEvent> ReadList(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(Read).ToArray();
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static string? StringOrNull(JsonElement data, string name) =>
        data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
