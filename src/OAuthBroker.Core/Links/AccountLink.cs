namespace OAuthBroker.Links;

/// <summary>
/// A user's connection to one account at one provider. Holds no secret material: the credential lives in
/// the vault under <see cref="CredentialName"/>.
/// </summary>
public sealed record AccountLink
{
    public required string UserId { get; init; }
    public required string ProviderId { get; init; }
    /// <summary>The provider's id for the account (e.g. Bybit UID).</summary>
    public required string AccountId { get; init; }
    public string? AccountDisplayName { get; init; }
    public required LinkStatus Status { get; init; }
    /// <summary>Vault secret name; random and never reused (a soft-deleted name stays blocked for up to 90 days).</summary>
    public required string CredentialName { get; init; }
    public required IReadOnlyList<string> Scopes { get; init; }
    public required bool HasApiKey { get; init; }
    public required bool HasRefreshToken { get; init; }
    public DateTimeOffset? AccessTokenExpiresAt { get; init; }
    public DateTimeOffset? RefreshTokenExpiresAt { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Storage concurrency token; every change is conditioned on it.</summary>
    public string? ETag { get; init; }
}

/// <summary>The states a link can be in. Each says what the user or operator must do, if anything.</summary>
public enum LinkStatus
{
    /// <summary>Credential vaulted and believed valid. Nothing to do.</summary>
    Active,
}

/// <summary>Storage of account links. Implementations map concurrency failures to <see cref="LinkConcurrencyException"/>.</summary>
public interface IAccountLinkStore
{
    Task<AccountLink?> GetAsync(string userId, string providerId, string accountId, CT ct);

    Task<IReadOnlyList<AccountLink>> ListAsync(string userId, CT ct);

    /// <summary>Creates the link; null when a link with the same user, provider and account already exists.</summary>
    Task<AccountLink?> TryInsertAsync(AccountLink link, CT ct);

    /// <summary>Replaces the link if it still has <see cref="AccountLink.ETag"/>; returns it with the new ETag.</summary>
    Task<AccountLink> ReplaceAsync(AccountLink link, CT ct);

    /// <summary>Deletes the link if it still has its ETag; false when it was already gone.</summary>
    Task<bool> DeleteAsync(AccountLink link, CT ct);
}

/// <summary>The stored link changed since it was read (ETag mismatch).</summary>
public sealed class LinkConcurrencyException(string message, Exception? inner = null) : Exception(message, inner)
{
    public LinkConcurrencyException() : this("The link changed since it was read.") { }
    public LinkConcurrencyException(string message) : this(message, null) { }
}
