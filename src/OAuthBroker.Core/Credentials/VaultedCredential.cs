using System.Text.Json.Serialization;
using OAuthBroker.Providers;

namespace OAuthBroker.Credentials;

/// <summary>The vaulted document: the provider credential plus what it belongs to.</summary>
public sealed record VaultedCredential(string ProviderId, ProviderCredential Credential, DateTimeOffset StoredAt)
{
    /// <summary>The owning link's <see cref="Links.IAccountLinkStore.ReferenceOf"/> (storage keys, fingerprints only).</summary>
    public string? Link { get; init; }

    /// <summary>The grant this credential belongs to (<see cref="Links.AccountLink.GrantId"/>).</summary>
    public string? GrantId { get; init; }

    /// <summary>
    /// The vault version (Key Vault's version id) whose refresh token was spent to obtain this credential; null for a
    /// fresh grant. It ties a refresh's result to the spend that produced it, so a refresher finding an earlier spend's
    /// outcome unknown (<see cref="Links.AccountLink.SpendingVersion"/>) adopts only that spend's own result, never a
    /// version that merely looks newer.
    /// </summary>
    public string? RefreshedFrom { get; init; }

    /// <summary>The vault version this document was read from or written as (Key Vault's version id); not part of the document.</summary>
    [JsonIgnore]
    public string? Version { get; init; }

    public override string ToString() => $"VaultedCredential {{ ProviderId = {ProviderId}, StoredAt = {StoredAt:O}, Version = {Version} }}";
}
