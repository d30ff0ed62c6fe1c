using OAuthBroker.Providers;

namespace OAuthBroker.Credentials;

/// <summary>The vaulted document: the provider credential plus what it belongs to.</summary>
public sealed record VaultedCredential(string ProviderId, ProviderCredential Credential, DateTimeOffset StoredAt)
{
    /// <summary>The owning link's <see cref="Links.IAccountLinkStore.ReferenceOf"/> (storage keys, fingerprints only).</summary>
    public string? Link { get; init; }

    /// <summary>The grant this credential belongs to (<see cref="Links.AccountLink.GrantId"/>).</summary>
    public string? GrantId { get; init; }

    public override string ToString() => $"VaultedCredential {{ ProviderId = {ProviderId}, StoredAt = {StoredAt:O} }}";
}
