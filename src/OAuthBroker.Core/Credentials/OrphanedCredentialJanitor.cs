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
/// at it. It is only deleted, never revoked, when revoking could end the live link: its <c>grant</c> tag is the row's
/// grant, its tokens are the link's current ones (a provider that handed the same grant back on re-link), or the
/// provider revokes per user and client (<see cref="RevocationScope.UserAndClient"/>) and the link exists. Secrets
/// younger than <see cref="RefreshOptions.OrphanGracePeriod"/> on the storage service's clock (a callback or re-link
/// may still be writing the row) are left alone, and so are untagged ones (written before tags; their link cannot be
/// told). The listing is walked a page at a time across runs; where it stopped is kept in shared state.
/// </summary>
public sealed partial class OrphanedCredentialJanitor(
    ICredentialVault vault,
    IAccountLinkStore links,
    ProviderCatalog providers,
    IBrokerStateStore state,
    ILeaseClock clock,
    IOptions<RefreshOptions> options,
    IOptions<RevocationScopeOptions> revocationScopes,
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
        // The secret's age on the vault's clock, compared with the storage service's (both servers' clocks), not this
        // instance's own, which may run ahead.
        if (entry.Link is null || (entry.UpdatedAt is { } updated && clock.UtcNow - updated < options.Value.OrphanGracePeriod))
        {
            return false;
        }

        var link = await links.GetByReferenceAsync(entry.Link, ct);
        if (link?.CredentialName == entry.Name)
        {
            return false;
        }

        var orphan = await vault.ReadAsync(entry.Name, ct);
        var revoke = orphan is not null && await MayRevokeAsync(entry, orphan, link, ct);
        if (revoke && providers.Find(orphan!.ProviderId) is { } provider)
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
        LogCollected(logger, entry.ProviderId ?? "unknown", tag, revoke);
        return true;
    }

    /// <summary>Whether revoking the orphan's grant cannot end the link's live one.</summary>
    private async Task<bool> MayRevokeAsync(VaultEntry entry, VaultedCredential orphan, Links.AccountLink? link, CT ct)
    {
        if (revocationScopes.Value.For(entry.ProviderId ?? orphan.ProviderId) == RevocationScope.UserAndClient)
        {
            // Revoking reaches every grant of the provider account with this client: a live link of the same account,
            // under this user or another, would end too.
            return false;
        }

        if (link is null)
        {
            // No link for that account here, and revoking reaches only this grant.
            return true;
        }

        var grant = entry.GrantId ?? orphan.GrantId;
        if (link.GrantId is null || grant is null || link.GrantId == grant)
        {
            // The link's own grant (a copy made by a refresh), or one that cannot be told apart from it.
            return false;
        }

        var current = await vault.ReadCurrentAsync(link, ct);
        return current is null || !LinkWriter.SameGrant(orphan.Credential, current.Credential);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orphaned {ProviderId} credential {CredentialTag}: revocation {Revocation}")]
    private static partial void LogRevoked(ILogger logger, string providerId, string credentialTag, RevocationStatus revocation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orphaned {ProviderId} credential {CredentialTag} kept: revocation {Revocation}; the next run tries again")]
    private static partial void LogRevocationFailed(ILogger logger, string providerId, string credentialTag, RevocationStatus revocation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Orphaned {ProviderId} credential {CredentialTag} erased (its grant revoked first: {Revoked})")]
    private static partial void LogCollected(ILogger logger, string providerId, string credentialTag, bool revoked);
}
