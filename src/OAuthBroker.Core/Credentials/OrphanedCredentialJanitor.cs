using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Credentials;

/// <summary>
/// Finds vault secrets no link points at and ends them: revokes the grant they hold where the provider allows, then
/// deletes them. They come from callbacks that vaulted a grant but never wrote its row (a closed pop-up, a crash, a
/// storage failure), re-links whose superseded grant could not be revoked at once, and a refresh's copy to a fresh
/// secret name. Each secret's <c>link</c> tag (the row's storage keys, fingerprints only) says which row should point
/// at it, and its <c>grant</c> tag whether it is that row's current grant (then it is only deleted: revoking would end
/// the live link). Secrets younger than <see cref="RefreshOptions.OrphanGracePeriod"/> are left alone (a callback or
/// re-link may still be writing the row), and so are untagged ones (written before tags; their link cannot be told).
/// The listing is walked a page at a time across runs; where it stopped is kept in shared state.
/// </summary>
public sealed partial class OrphanedCredentialJanitor(
    ICredentialVault vault,
    IAccountLinkStore links,
    ProviderCatalog providers,
    IBrokerStateStore state,
    IOptions<RefreshOptions> options,
    TimeProvider time,
    ILogger<OrphanedCredentialJanitor> logger) : IHousekeepingTask
{
    public const string StateKey = "janitor-vault-listing";

    public string Name => "orphaned-credentials";

    public async Task<int> RunAsync(DateTimeOffset deadline, CT ct)
    {
        var continuation = await state.GetAsync(StateKey, ct);
        var collected = 0;
        do
        {
            if (time.GetUtcNow() >= deadline)
            {
                break;
            }

            var page = await vault.ListAsync(continuation, ct);
            foreach (var entry in page.Entries)
            {
                if (await CollectAsync(entry, ct))
                {
                    collected++;
                }
            }

            // Only a whole page counts as done; an interrupted one is listed again next time.
            continuation = page.Continuation;
            await state.SetAsync(StateKey, continuation, ct);
        }
        while (continuation is not null);

        return collected;
    }

    private async Task<bool> CollectAsync(VaultEntry entry, CT ct)
    {
        if (entry.Link is null || (entry.UpdatedAt is { } updated && time.GetUtcNow() - updated < options.Value.OrphanGracePeriod))
        {
            return false;
        }

        var link = await links.GetByReferenceAsync(entry.Link, ct);
        if (link?.CredentialName == entry.Name)
        {
            return false;
        }

        var otherGrant = link is null || (link.GrantId is not null && entry.GrantId is not null && link.GrantId != entry.GrantId);
        if (otherGrant && await vault.ReadAsync(entry.Name, ct) is { } orphan && providers.Find(orphan.ProviderId) is { } provider)
        {
            var revocation = await provider.RevokeAsync(orphan.Credential, ct);
            if (revocation.Status is RevocationStatus.Unavailable or RevocationStatus.Refused)
            {
                // Kept: its token is the only way to end the grant. The next run tries again.
                var keptTag = CredentialNames.LogTag(entry.Name);
                LogRevocationFailed(logger, orphan.ProviderId, keptTag, revocation.Status);
                return false;
            }

            var revokedTag = CredentialNames.LogTag(entry.Name);
            LogRevoked(logger, orphan.ProviderId, revokedTag, revocation.Status);
        }

        await vault.DeleteAsync(entry.Name, ct);
        var tag = CredentialNames.LogTag(entry.Name);
        LogCollected(logger, entry.ProviderId ?? "unknown", tag, otherGrant);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orphaned {ProviderId} credential {CredentialTag}: revocation {Revocation}")]
    private static partial void LogRevoked(ILogger logger, string providerId, string credentialTag, RevocationStatus revocation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orphaned {ProviderId} credential {CredentialTag} kept: revocation {Revocation}; the next run tries again")]
    private static partial void LogRevocationFailed(ILogger logger, string providerId, string credentialTag, RevocationStatus revocation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Orphaned {ProviderId} credential {CredentialTag} erased (held another grant than its link's: {OtherGrant})")]
    private static partial void LogCollected(ILogger logger, string providerId, string credentialTag, bool otherGrant);
}
