using System.Text.Json.Serialization;

namespace OAuthBroker.Storage;

/// <summary>
/// Serialization code for the few JSON values Storage writes with the serializer (everything else is written by hand
/// with <c>Utf8JsonWriter</c>): the Table service's create-table body and a link row's <c>PendingProgress</c> column.
/// Generated at compile time so it survives trimming (bench/startup.md); the serializer's default options, as the
/// reflection calls used before, so the column's text is the same and existing rows still read.
/// </summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
