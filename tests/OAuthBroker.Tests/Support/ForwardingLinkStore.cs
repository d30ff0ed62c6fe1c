using OAuthBroker.Links;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// A test seam over the real link store: every call goes to <paramref name="inner"/>, and a test overrides only the write
/// it times (a lease write that hangs, a step run right after one) — the storage underneath stays real.
/// </summary>
internal abstract class ForwardingLinkStore(IAccountLinkStore inner) : IAccountLinkStore
{
    protected IAccountLinkStore Inner => inner;

    public Task<AccountLink?> GetAsync(string userId, string providerId, string accountId, CancellationToken ct) => inner.GetAsync(userId, providerId, accountId, ct);

    public Task<IReadOnlyList<AccountLink>> ListAsync(string userId, CancellationToken ct) => inner.ListAsync(userId, ct);

    public Task<AccountLink?> TryInsertAsync(AccountLink link, CancellationToken ct) => inner.TryInsertAsync(link, ct);

    public virtual Task<AccountLink> ReplaceAsync(AccountLink link, CancellationToken ct) => inner.ReplaceAsync(link, ct);

    public Task<bool> DeleteAsync(AccountLink link, CancellationToken ct) => inner.DeleteAsync(link, ct);

    public string ReferenceOf(string userId, string providerId, string accountId) => inner.ReferenceOf(userId, providerId, accountId);

    public Task<AccountLink?> GetByReferenceAsync(string reference, CancellationToken ct) => inner.GetByReferenceAsync(reference, ct);
}
