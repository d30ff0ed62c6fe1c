using Microsoft.Extensions.Logging;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;

namespace OAuthBroker.Links;

/// <summary>
/// Turns a provider grant into a vaulted credential and a link row, in that order: the credential is vaulted before
/// anything points at it, so a crash in between leaves at worst a secret no row points at. Such a secret carries its
/// link's reference and grant id as tags, and the janitor (<see cref="OrphanedCredentialJanitor"/>) revokes and erases
/// it. Once the credential is vaulted the rest runs to the end even if the browser goes away.
/// </summary>
public sealed partial class LinkWriter(
    IAccountLinkStore store,
    ICredentialVault vault,
    RefreshRecorder recorder,
    RefreshPolicy policy,
    LinkLeases leases,
    ProviderCatalog providers,
    CredentialCache cache,
    Microsoft.Extensions.Options.IOptions<RevocationScopeOptions> revocationScopes,
    TimeProvider time,
    ILogger<LinkWriter> logger)
{
    /// <param name="grantId">
    /// The grant's id when the caller may save the same grant again after a failure (a pending link's
    /// <see cref="CredentialNames.GrantIdOfPending"/>): every secret written for it then carries that id. Null: a new one.
    /// </param>
    public async Task<AccountLink> SaveAsync(string userId, string providerId, ProviderGrant grant, CT ct, string? grantId = null)
    {
        grantId ??= CredentialNames.NewGrantId();
        var existing = await store.GetAsync(userId, providerId, grant.AccountId, ct);
        return existing is null
            ? await CreateAsync(userId, providerId, grant, grantId, ct)
            : await RelinkAsync(existing, grant, grantId, ct);
    }

    private async Task<AccountLink> CreateAsync(string userId, string providerId, ProviderGrant grant, string grantId, CT ct)
    {
        var now = time.GetUtcNow();
        var vaulted = Vaulted(userId, providerId, grant, grantId, now);
        var name = CredentialNames.New();
        var version = await vault.WriteAsync(name, vaulted, ct);

        var link = Describe(grant, new AccountLink
        {
            UserId = userId,
            ProviderId = providerId,
            AccountId = grant.AccountId,
            Status = LinkStatus.Active,
            CredentialName = name,
            Scopes = grant.Scopes,
            HasApiKey = false,
            HasRefreshToken = false,
            CreatedAt = now,
            UpdatedAt = now,
            CredentialStoredAt = now,
            CredentialVersion = version,
            GrantId = vaulted.GrantId,
            CredentialVersions = 1,
        });

        // Note: from here on not the request's token. The grant is vaulted; a browser that goes away must not leave it
        // behind without its row.
        link = link with { NextRefreshAt = policy.NextDue(link, now) };
        var dueKey = link.NextRefreshAt is { } due ? await recorder.AddEntryAsync(link, due, CT.None) : null;
        var inserted = await store.TryInsertAsync((link with { DueKey = dueKey }).Announcing(LinkEventTypes.Created, now), CT.None);
        if (inserted is not null)
        {
            return inserted;
        }

        var winner = await store.GetAsync(userId, providerId, grant.AccountId, CT.None)
            ?? throw new LinkConcurrencyException("The link was created and deleted concurrently.");
        if (winner.CredentialName == name)
        {
            // The insert committed and its answer was lost; the retried insert found our own row.
            return winner;
        }

        if (dueKey is not null)
        {
            await recorder.RemoveEntryAsync(dueKey, CT.None);
        }

        // Another callback for the same account got there first: ours replaces its grant, with the secret already written.
        return await ReplaceGrantAsync(winner, grant, (name, version), vaulted, CT.None);
    }

    /// <summary>The user authorized an account that is already linked.</summary>
    private async Task<AccountLink> RelinkAsync(AccountLink existing, ProviderGrant grant, string grantId, CT ct)
    {
        var now = time.GetUtcNow();
        var vaulted = Vaulted(existing.UserId, existing.ProviderId, grant, grantId, now);
        return await ReplaceGrantAsync(existing, grant, null, vaulted, ct);
    }

    /// <summary>
    /// Replaces a link's grant: waits for a refresh in flight and takes the lease (so nothing writes over it, and no
    /// refresher spends the old grant's token meanwhile), vaults the new grant under a fresh secret name (a soft-deleted
    /// name can never block it), points the row at it, then revokes the replaced grant where the provider allows and
    /// erases its secret. Whatever the last step cannot do, the janitor finishes.
    /// </summary>
    private async Task<AccountLink> ReplaceGrantAsync(AccountLink existing, ProviderGrant grant, (string Name, string Version)? written, VaultedCredential vaulted, CT ct)
    {
        var owner = "link-" + Guid.NewGuid().ToString("N")[..12];
        AccountLink? leased;
        try
        {
            leased = await leases.AcquireAsync(existing, owner, ct);
        }
        catch (LinkConcurrencyException)
        {
            // Note: the new grant is left alive. The caller still holds it (a completion puts its pending link back for
            // a retry, which must link a live grant; housekeeping revokes it if nobody confirms it in time). A secret
            // already written for it is the janitor's: it carries the grant id the retry's secret will carry, so the
            // janitor erases it without revoking once the grant is linked, and revokes it only if it never is.
            LogRelinkBusy(logger, existing.ProviderId);
            throw;
        }

        if (leased is null)
        {
            // Unlinked meanwhile: link it afresh (a secret already written carries the same grant id).
            return await CreateAsync(existing.UserId, existing.ProviderId, grant, vaulted.GrantId!, ct);
        }

        // What the row describes now (under the lease: no refresher rotates it meanwhile). A provider may hand the same
        // grant back (the same refresh token): then it keeps its grant id, so nothing later takes it for a replaced grant.
        var old = await ReadQuietlyAsync(leased);
        if (written is null && old is not null && leased.GrantId is { } sameGrantId && SameGrant(old.Credential, grant.Credential))
        {
            vaulted = vaulted with { GrantId = sameGrantId };
        }

        var (name, version) = written ?? (CredentialNames.New(), "");
        if (written is null)
        {
            try
            {
                version = await vault.WriteAsync(name, vaulted, ct);
            }
            catch
            {
                await leases.ReleaseQuietlyAsync(leased);
                throw;
            }
        }

        var now = time.GetUtcNow();
        var relinked = Describe(grant, leased with
        {
            Status = LinkStatus.Active,
            CredentialName = name,
            CredentialStoredAt = vaulted.StoredAt,
            CredentialVersion = version,
            CredentialVersions = 1,
            GrantId = vaulted.GrantId,
            Scopes = grant.Scopes,
            UpdatedAt = now,
            RefreshFailures = 0,
            LastFailure = null,
            // A fresh grant counts as just refreshed: the keep-alive runs from now, not from the first link.
            LastRefreshAt = now,
            LeaseOwner = null,
            LeaseUntil = null,
            SpendingVersion = null,
            SpendStartedAt = null,
        });

        // Note: not the request's token from here on; the new grant is vaulted and must end up pointed at.
        var saved = await recorder.ReplaceWithScheduleAsync(leased, (relinked with { NextRefreshAt = policy.NextDue(relinked, now) }).Announcing(LinkEventTypes.Relinked, now), CT.None);
        cache.Forget(leased.CredentialName);
        await SupersedeAsync(leased, old, grant.Credential);
        return saved;
    }

    /// <summary>
    /// Revokes the replaced grant and erases its secret. Not revoked: the same grant handed back again (its refresh or
    /// access token is the new one's), or a provider where revoking reaches every grant of the user and client
    /// (<see cref="RevocationScope.UserAndClient"/>): that would end the new grant too. On any doubt the secret stays for
    /// the janitor, which applies the same rules.
    /// </summary>
    private async Task SupersedeAsync(AccountLink replaced, VaultedCredential? old, ProviderCredential replacement)
    {
        try
        {
            var revocable = old is not null && !SameGrant(old.Credential, replacement)
                && revocationScopes.Value.For(replaced.ProviderId) == RevocationScope.Grant;
            if (revocable && providers.Find(replaced.ProviderId) is { } provider)
            {
                var revocation = await provider.RevokeAsync(old!.Credential, CT.None);
                LogSuperseded(logger, replaced.ProviderId, revocation.Status);
                if (revocation.Status is RevocationStatus.Unavailable or RevocationStatus.Refused)
                {
                    return;
                }
            }

            await vault.DeleteAsync(replaced.CredentialName, CT.None);
        }
        catch (Exception ex) when (ex is VaultUnavailableException or OperationCanceledException)
        {
            LogOrphanLeft(logger, CredentialNames.LogTag(replaced.CredentialName));
        }
    }

    private async Task<VaultedCredential?> ReadQuietlyAsync(AccountLink link)
    {
        try
        {
            return await vault.ReadCurrentAsync(link, CT.None);
        }
        catch (Exception ex) when (ex is VaultUnavailableException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Two credentials of one grant: a provider handed back the same refresh token (or access token) on re-link.</summary>
    internal static bool SameGrant(ProviderCredential one, ProviderCredential other) =>
        (one.RefreshToken is { } token && token == other.RefreshToken) || one.AccessToken == other.AccessToken;

    private VaultedCredential Vaulted(string userId, string providerId, ProviderGrant grant, string grantId, DateTimeOffset now) =>
        new(providerId, grant.Credential, now)
        {
            Link = store.ReferenceOf(userId, providerId, grant.AccountId),
            GrantId = grantId,
        };

    private static AccountLink Describe(ProviderGrant grant, AccountLink link) => link with
    {
        AccountDisplayName = grant.AccountDisplayName ?? link.AccountDisplayName,
        HasApiKey = grant.Credential.ApiKey is not null,
        HasRefreshToken = grant.Credential.RefreshToken is not null,
        AccessTokenExpiresAt = grant.Credential.AccessTokenExpiresAt,
        RefreshTokenExpiresAt = grant.Credential.RefreshTokenExpiresAt,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not erase the replaced credential {CredentialTag}; the janitor will revoke and erase it")]
    private static partial void LogOrphanLeft(ILogger logger, string credentialTag);

    [LoggerMessage(Level = LogLevel.Information, Message = "A {ProviderId} link was linked again; the replaced grant's revocation: {Revocation}")]
    private static partial void LogSuperseded(ILogger logger, string providerId, RevocationStatus revocation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A {ProviderId} link could not be linked again yet: a refresh held it throughout; the new grant is kept for a retry")]
    private static partial void LogRelinkBusy(ILogger logger, string providerId);
}
