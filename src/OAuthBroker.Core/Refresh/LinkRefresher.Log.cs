using Microsoft.Extensions.Logging;
using OAuthBroker.Providers;

namespace OAuthBroker.Refresh;

/// <summary>What the refresher logs (never a token).</summary>
public sealed partial class LinkRefresher
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Refreshed a {ProviderId} link (refresh token rotated: {Rotated})")]
    private static partial void LogRefreshed(ILogger logger, string providerId, bool rotated);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A {ProviderId} link needs the user to connect again: the refresh token was rejected ({ProviderCode})")]
    private static partial void LogReauthRequired(ILogger logger, string providerId, string providerCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider {ProviderId} rejects the broker's client credentials ({ProviderCode}); refreshes for it pause for {Duration}. Check its ClientId and ClientSecret.")]
    private static partial void LogBreakerOpened(ILogger logger, string providerId, string providerCode, TimeSpan duration);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refresh of a {ProviderId} link failed ({Kind}, {ProviderCode}); attempt {Failures}, next in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string providerId, ProviderFailureKind kind, string providerCode, int failures, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "A {ProviderId} link's credential {CredentialTag} is missing from the vault")]
    private static partial void LogCredentialMissing(ILogger logger, string providerId, string credentialTag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A {ProviderId} refresh's outcome is unknown ({Reason}): the refresh token may be rotated and is not sent again; the access token is served until it expires")]
    private static partial void LogOutcomeUnknown(ILogger logger, string providerId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A {ProviderId} link's earlier spend was stored after all; refreshing resumes")]
    private static partial void LogSpendResolved(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Error, Message = "A {ProviderId} refresh token was spent but its result could not be stored ({Failure})")]
    private static partial void LogResultLost(ILogger logger, string providerId, string failure);

    [LoggerMessage(Level = LogLevel.Error, Message = "A {ProviderId} refresher lost its lease {When}")]
    private static partial void LogLeaseLost(ILogger logger, string providerId, string when);

    [LoggerMessage(Level = LogLevel.Error, Message = "A {ProviderId} link's credential is too large to store after a refresh; it is not refreshed")]
    private static partial void LogTooLarge(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A {ProviderId} link's vault does not show the version its row names ({Code}); nothing was spent, it is looked at again later")]
    private static partial void LogVersionNotVisible(ILogger logger, string providerId, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "invalid_grant for a {ProviderId} link while the vault holds the result of a refresh of the token just sent; spending that one")]
    private static partial void LogReconciling(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "A {ProviderId} link's credential moved to a fresh secret (the old one reached Refresh:MaxCredentialVersions)")]
    private static partial void LogRolledOver(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A {ProviderId} refresher outlived its lease without spending; the unknown outcome recorded for its spend is cleared and the refresh token kept")]
    private static partial void LogUnspentMarkerCleared(ILogger logger, string providerId);
}
