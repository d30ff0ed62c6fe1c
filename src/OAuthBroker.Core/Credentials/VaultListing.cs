namespace OAuthBroker.Credentials;

/// <summary>One page of secrets: what their tags say, never their values.</summary>
/// <param name="Continuation">Pass it to the next call; null at the end of the listing.</param>
public sealed record VaultListing(IReadOnlyList<VaultEntry> Entries, string? Continuation);
