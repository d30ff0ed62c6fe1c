namespace OAuthBroker.Credentials;

/// <summary>One page of secrets: what their tags say, never their values.</summary>
/// <param name="Continuation">Pass it to the next call; null at the end of the listing.</param>
public sealed record VaultListing(IReadOnlyList<VaultEntry> Entries, string? Continuation);

/// <param name="Name">The secret's name.</param>
/// <param name="Link">Its <c>link</c> tag (the owning link's reference), when it carries one.</param>
/// <param name="GrantId">Its <c>grant</c> tag.</param>
/// <param name="ProviderId">Its <c>provider</c> tag.</param>
/// <param name="UpdatedAt">When its newest version was written (the vault's clock).</param>
public sealed record VaultEntry(string Name, string? Link, string? GrantId, string? ProviderId, DateTimeOffset? UpdatedAt);
