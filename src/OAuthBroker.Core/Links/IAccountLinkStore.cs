namespace OAuthBroker.Links;

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

    /// <summary>
    /// A non-personal reference to the link's row (its storage keys, which are fingerprints), for tagging what belongs
    /// to the link elsewhere (its vault secrets) so it can be traced back without a personal id.
    /// </summary>
    string ReferenceOf(string userId, string providerId, string accountId);

    /// <summary>The link a <see cref="ReferenceOf"/> value points at, or null (gone, or not a reference).</summary>
    Task<AccountLink?> GetByReferenceAsync(string reference, CT ct);
}
