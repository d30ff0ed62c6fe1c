using System.Text.Json;
using System.Text.Json.Serialization;
using OAuthBroker.Credentials;
using OAuthBroker.Providers;

namespace OAuthBroker;

/// <summary>
/// Serialization code for the documents the broker stores, generated at compile time: the vaulted credential (one
/// Key Vault secret per link, <c>KeyVaultCredentialVault</c>; its size is checked before a spend, <c>LinkRefresher</c>)
/// and the sealed grant of a pending link (<c>PendingLinks</c>). No JSON metadata is built by reflection at run time,
/// so the code survives trimming (bench/startup.md), and with the Web defaults the reflection serializer used before
/// (camelCase names, every member written, numbers readable from strings) the bytes are the same as before, so
/// secrets and sealed grants written by earlier versions still read (StoredJsonCompatibilityTests).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(VaultedCredential))]
[JsonSerializable(typeof(ProviderGrant))]
public sealed partial class CoreJsonContext : JsonSerializerContext;
