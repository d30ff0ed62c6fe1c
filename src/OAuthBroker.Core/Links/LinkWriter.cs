using Microsoft.Extensions.Logging;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Providers;

namespace OAuthBroker.Links;

/// <summary>
/// Turns a provider grant into a vaulted credential and a link row, in that order: the credential is vaulted
/// before anything points at it, so a crash in between leaves at worst an orphan secret, never a link
/// without its credential.
/// </summary>
public sealed partial class LinkWriter(
    IAccountLinkStore store,
    ICredentialVault vault,
    Refresh.IRefreshSchedule schedule,
    Refresh.RefreshPolicy policy,
    TimeProvider time,
    ILogger<LinkWriter> logger)
{
    public async Task<AccountLink> SaveAsync(string userId, string providerId, ProviderGrant grant, CT ct)
    {
        var existing = await store.GetAsync(userId, providerId, grant.AccountId, ct);
        return existing is null
            ? await CreateAsync(userId, providerId, grant, ct)
            : await RelinkAsync(existing, grant, ct);
    }

    private async Task<AccountLink> CreateAsync(string userId, string providerId, ProviderGrant grant, CT ct)
    {
        var now = time.GetUtcNow();
        var name = CredentialNames.New();
        await vault.WriteAsync(name, new VaultedCredential(providerId, grant.Credential, now), ct);

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
        });

        link = link with { NextRefreshAt = policy.NextDue(link, now) };
        AccountLink? inserted;
        string? dueKey = null;
        try
        {
            // The due-index entry is written before the row that points at it; a crash in between leaves a stale
            // entry the sweep removes, never a link the sweep cannot find.
            dueKey = link.NextRefreshAt is { } due ? await schedule.AddAsync(link, due, ct) : null;
            inserted = await store.TryInsertAsync(link with { DueKey = dueKey }, ct);
        }
        catch (StorageUnavailableException)
        {
            await DiscardOrphanAsync(name);
            throw;
        }

        if (inserted is not null)
        {
            return inserted;
        }

        if (dueKey is not null)
        {
            await schedule.RemoveAsync(dueKey, ct);
        }

        // Another callback for the same account won the insert: our secret is an orphan; theirs is the link's.
        await DiscardOrphanAsync(name);
        var winner = await store.GetAsync(userId, providerId, grant.AccountId, ct)
            ?? throw new LinkConcurrencyException("The link was created and deleted concurrently.");
        return await RelinkAsync(winner, grant, ct);
    }

    /// <summary>The user authorized an account that is already linked: a new credential version under the same name.</summary>
    private async Task<AccountLink> RelinkAsync(AccountLink existing, ProviderGrant grant, CT ct)
    {
        var now = time.GetUtcNow();
        await vault.WriteAsync(existing.CredentialName, new VaultedCredential(existing.ProviderId, grant.Credential, now), ct);

        var current = existing;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var relinked = Describe(grant, current with
                {
                    Status = LinkStatus.Active,
                    Scopes = grant.Scopes,
                    UpdatedAt = now,
                    RefreshFailures = 0,
                    LastFailure = null,
                    LastRefreshAt = null,
                    LeaseOwner = null,
                    LeaseUntil = null,
                    CredentialStoredAt = now,
                });
                relinked = relinked with { NextRefreshAt = policy.NextDue(relinked, now) };
                var dueKey = relinked.NextRefreshAt is { } due ? await schedule.AddAsync(relinked, due, ct) : null;
                var saved = await store.ReplaceAsync(relinked with { DueKey = dueKey }, ct);
                if (current.DueKey is { } oldKey)
                {
                    await schedule.RemoveAsync(oldKey, ct);
                }

                return saved;
            }
            catch (LinkConcurrencyException) when (attempt == 0)
            {
                // Note: the vault already holds this grant's credential; only the row's description lags. Re-read
                // once and describe the newest row; a second conflict means sustained contention and is surfaced.
                current = await store.GetAsync(existing.UserId, existing.ProviderId, existing.AccountId, ct) ?? existing;
            }
        }
    }

    private static AccountLink Describe(ProviderGrant grant, AccountLink link) => link with
    {
        AccountDisplayName = grant.AccountDisplayName ?? link.AccountDisplayName,
        HasApiKey = grant.Credential.ApiKey is not null,
        HasRefreshToken = grant.Credential.RefreshToken is not null,
        AccessTokenExpiresAt = grant.Credential.AccessTokenExpiresAt,
        RefreshTokenExpiresAt = grant.Credential.RefreshTokenExpiresAt,
    };

    private async Task DiscardOrphanAsync(string name)
    {
        try
        {
            // Not the request's token: the cleanup should finish even if the browser went away.
            await vault.DeleteAsync(name, CT.None);
        }
        catch (VaultUnavailableException)
        {
            LogOrphanLeft(logger, CredentialNames.LogTag(name));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete orphan credential {CredentialTag}; it is unreferenced and harmless but occupies the vault")]
    private static partial void LogOrphanLeft(ILogger logger, string credentialTag);
}
