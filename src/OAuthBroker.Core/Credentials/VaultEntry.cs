namespace OAuthBroker.Credentials;

/// <summary>One secret in a <see cref="VaultListing"/>: its name and tags.</summary>
/// <param name="Name">The secret's name.</param>
/// <param name="Link">Its <c>link</c> tag (the owning link's reference), when it carries one.</param>
/// <param name="GrantId">Its <c>grant</c> tag.</param>
/// <param name="ProviderId">Its <c>provider</c> tag.</param>
/// <param name="UpdatedAt">When its newest version was written (the vault's clock).</param>
public sealed record VaultEntry(string Name, string? Link, string? GrantId, string? ProviderId, DateTimeOffset? UpdatedAt);
