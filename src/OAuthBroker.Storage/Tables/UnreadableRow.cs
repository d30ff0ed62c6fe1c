using System.Text.Json;

namespace OAuthBroker.Storage.Tables;

/// <summary>
/// What decoding a stored row throws when this version cannot read it (written by another version, or mended by hand):
/// malformed JSON, a missing property (<see cref="JsonElement.GetProperty(string)"/> throws
/// <see cref="KeyNotFoundException"/>), a value of the wrong kind or null where a value is required, an unparsable
/// date. Storage failures (StorageUnavailableException) and cancellation are none of these, so they still end the
/// caller's work.
/// </summary>
public static class UnreadableRow
{
    public static bool Is(Exception ex) =>
        ex is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or ArgumentException;
}
