namespace OAuthBroker.Storage.Tables;

/// <summary>
/// A Table entity: keys, concurrency token and typed properties. Supported property types: string, bool,
/// int, long, double, DateTimeOffset, Guid and byte[] (the EDM types the service knows).
/// </summary>
public sealed class TableEntity(string partitionKey, string rowKey)
{
    public string PartitionKey { get; } = TableKeys.Validate(partitionKey, nameof(partitionKey));
    public string RowKey { get; } = TableKeys.Validate(rowKey, nameof(rowKey));
    public string? ETag { get; set; }
    public DateTimeOffset? Timestamp { get; set; }
    public Dictionary<string, object?> Properties { get; } = new(StringComparer.Ordinal);

    public object? this[string name]
    {
        get => Properties.GetValueOrDefault(name);
        set => Properties[name] = value;
    }

    public string? GetString(string name) => Properties.GetValueOrDefault(name) as string;

    public bool? GetBoolean(string name) => Properties.GetValueOrDefault(name) as bool?;

    public long? GetInt64(string name) => Properties.GetValueOrDefault(name) switch
    {
        long value => value,
        int value => value,
        _ => null,
    };

    public DateTimeOffset? GetDateTimeOffset(string name) => Properties.GetValueOrDefault(name) as DateTimeOffset?;
}

/// <summary>Rules for PartitionKey and RowKey values.</summary>
public static class TableKeys
{
    public const int MaxLength = 1024;

    /// <summary>
    /// Table keys may not contain <c>/ \ # ?</c> nor control characters U+0000–U+001F and U+007F–U+009F, and are
    /// at most 1 KiB. The broker builds keys from base64url fingerprints and provider ids, so a bad key is a bug.
    /// </summary>
    public static bool IsValid(string key) =>
        key.Length <= MaxLength && !key.Any(c => c is '/' or '\\' or '#' or '?' || c <= '\u001F' || (c >= '\u007F' && c <= '\u009F'));

    internal static string Validate(string key, string parameterName) =>
        IsValid(key) ? key : throw new ArgumentException("Not a valid Table key (forbidden character or longer than 1 KiB).", parameterName);
}
