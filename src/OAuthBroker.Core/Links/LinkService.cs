using Microsoft.Extensions.Logging;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Providers;

namespace OAuthBroker.Links;

/// <summary>What the user can do with their links: list them and unlink one.</summary>
public sealed partial class LinkService(
    IAccountLinkStore store,
    ICredentialVault vault,
    ProviderCatalog providers,
    ILogger<LinkService> logger)
{
    public Task<IReadOnlyList<AccountLink>> ListAsync(string userId, CT ct) => store.ListAsync(userId, ct);

    /// <summary>
    /// Revokes at the provider where it allows, erases the vaulted credential, then deletes the link. Each step
    /// is idempotent, so a failed unlink can simply be repeated.
    /// </summary>
    public async Task<(UnlinkResult? Result, BrokerError? Error)> UnlinkAsync(string userId, string providerId, string accountId, CT ct)
    {
        var link = await store.GetAsync(userId, providerId, accountId, ct);
        if (link is null)
        {
            return (null, BrokerErrors.LinkNotFound(providerId));
        }

        // Note: provider revocation arrives with the lifecycle work; Bybit documents no revocation endpoint at all,
        // so for it the honest outcome is "not supported" and erasing the vaulted material is what unlink can do.
        var revocation = providers.Find(providerId)?.Descriptor.Capabilities.Revocation == true
            ? RevocationOutcome.NotAttempted
            : RevocationOutcome.NotSupportedByProvider;

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

        LogUnlinked(logger, providerId, revocation);
        return (new UnlinkResult(providerId, accountId, revocation, CredentialErased: true), null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Account unlinked at {ProviderId}; revocation: {Revocation}")]
    private static partial void LogUnlinked(ILogger logger, string providerId, RevocationOutcome revocation);
}

public sealed record UnlinkResult(string ProviderId, string AccountId, RevocationOutcome Revocation, bool CredentialErased);

public enum RevocationOutcome
{
    /// <summary>The provider documents no way to revoke what it issued (Bybit).</summary>
    NotSupportedByProvider,
    /// <summary>The provider can revoke, but this version of the broker did not try.</summary>
    NotAttempted,
}
