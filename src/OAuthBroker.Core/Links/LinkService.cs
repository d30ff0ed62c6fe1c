using Microsoft.Extensions.Logging;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Providers;

namespace OAuthBroker.Links;

/// <summary>What the user can do with their links: list them and unlink one.</summary>
public sealed partial class LinkService(
    IAccountLinkStore store,
    ICredentialVault vault,
    Refresh.IRefreshSchedule schedule,
    ProviderCatalog providers,
    ILogger<LinkService> logger)
{
    public Task<IReadOnlyList<AccountLink>> ListAsync(string userId, CT ct) => store.ListAsync(userId, ct);

    /// <summary>
    /// Revokes at the provider where it allows, erases the vaulted credential, then deletes the link. Each step is
    /// idempotent, so a failed unlink can simply be repeated. When revocation is possible but fails transiently,
    /// nothing is erased: erasing first would throw away the only token that can still revoke.
    /// </summary>
    public async Task<(UnlinkResult? Result, BrokerError? Error)> UnlinkAsync(string userId, string providerId, string accountId, CT ct)
    {
        var link = await store.GetAsync(userId, providerId, accountId, ct);
        if (link is null)
        {
            return (null, BrokerErrors.LinkNotFound(providerId));
        }

        var revocation = await RevokeAsync(link, ct);
        if (revocation.Status == RevocationStatus.Unavailable)
        {
            LogRevocationDeferred(logger, providerId);
            await RecordAsync(link, "revocation_unavailable", ct);
            return (null, BrokerErrors.RevocationUnavailable(revocation.Detail));
        }

        await vault.DeleteAsync(link.CredentialName, ct);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await store.DeleteAsync(link, ct);
                break;
            }
            catch (LinkConcurrencyException) when (attempt == 0)
            {
                link = await store.GetAsync(userId, providerId, accountId, ct);
                if (link is null)
                {
                    break;
                }
            }
        }

        if (link?.DueKey is { } dueKey)
        {
            await schedule.RemoveAsync(dueKey, ct);
        }

        LogUnlinked(logger, providerId, revocation.Status);
        return (new UnlinkResult(providerId, accountId, revocation.Status, revocation.Detail, CredentialErased: true), null);
    }

    /// <summary>The outcome of a deferred unlink is written on the link, so operators and the user can see it.</summary>
    private async Task RecordAsync(AccountLink link, string outcome, CT ct)
    {
        try
        {
            await store.ReplaceAsync(link with { LastFailure = outcome }, ct);
        }
        catch (LinkConcurrencyException)
        {
            // Someone else changed the link meanwhile; their state wins.
        }
    }

    private async Task<RevocationResult> RevokeAsync(AccountLink link, CT ct)
    {
        var provider = providers.Find(link.ProviderId);
        if (provider is null)
        {
            return new RevocationResult(RevocationStatus.NoLongerPossible,
                $"The provider '{link.ProviderId}' is no longer configured, so nothing could be revoked there; revoke the access in the provider's own settings.");
        }

        var credential = await vault.ReadAsync(link.CredentialName, ct);
        if (credential is null)
        {
            // An earlier unlink erased it but did not get to delete the row.
            return new RevocationResult(RevocationStatus.NoLongerPossible, "The credential was already erased; nothing was left to revoke with.");
        }

        return await provider.RevokeAsync(credential.Credential, ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unlink at {ProviderId} deferred: revocation failed transiently, nothing erased")]
    private static partial void LogRevocationDeferred(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account unlinked at {ProviderId}; revocation: {Revocation}")]
    private static partial void LogUnlinked(ILogger logger, string providerId, RevocationStatus revocation);
}

/// <param name="Revocation">What revocation at the provider achieved.</param>
/// <param name="RevocationDetail">What that means for the user, in words.</param>
public sealed record UnlinkResult(string ProviderId, string AccountId, RevocationStatus Revocation, string RevocationDetail, bool CredentialErased);
