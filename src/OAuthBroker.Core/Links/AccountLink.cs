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

    /// <summary>
    /// <see cref="Credentials.VaultedCredential.StoredAt"/> of the credential version this row describes; a cached copy of the
    /// credential is current only when it carries the same instant.
    /// </summary>
    public DateTimeOffset? CredentialStoredAt { get; init; }

    /// <summary>When the refresh sweep should next look at this link; null when nothing is scheduled.</summary>
    public DateTimeOffset? NextRefreshAt { get; init; }
    /// <summary>The row of this link's current entry in the due index (so stale entries can be told apart).</summary>
    public string? DueKey { get; init; }
    /// <summary>Last successful refresh.</summary>
    public DateTimeOffset? LastRefreshAt { get; init; }
    /// <summary>Consecutive failed refresh attempts (reset by a success).</summary>
    public int RefreshFailures { get; init; }
    /// <summary>Provider code of the last failure, for operators (never a token or provider text).</summary>
    public string? LastFailure { get; init; }
    /// <summary>Refresh lease: who holds it (an instance id) and until when. Only the holder may spend the refresh token.</summary>
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseUntil { get; init; }
    /// <summary>Storage concurrency token; every change is conditioned on it.</summary>
    public string? ETag { get; init; }

    public bool IsLeased(DateTimeOffset now) => LeaseUntil is { } until && until > now;

    /// <summary>This link's identity as one string, for in-process maps (single-flight, caches).</summary>
    public string Key => KeyOf(UserId, ProviderId, AccountId);

    public static string KeyOf(string userId, string providerId, string accountId) => userId + "\n" + providerId + "\n" + accountId;
}

/// <summary>
/// The states a link can be in; each says what the user or operator must do, if anything. Transitions are documented
/// in docs/link-states.md. "Refreshing" is not stored: it is an active link whose refresh lease is held.
/// </summary>
public enum LinkStatus
{
    /// <summary>Credential vaulted and believed valid; kept fresh by the sweep. Nothing to do.</summary>
    Active,
    /// <summary>The provider rejected the refresh token (invalid_grant, after one retry with the newest): the user must connect again.</summary>
    ReauthRequired,
    /// <summary>The provider issues no refresh token (WhiteBIT Fast API Key) and the access token has expired: the user must connect again.</summary>
    Expired,
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
