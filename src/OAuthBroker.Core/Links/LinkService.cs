using Microsoft.Extensions.Logging;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;

namespace OAuthBroker.Links;

/// <summary>What the user can do with their links: list them and unlink one.</summary>
public sealed partial class LinkService(
    IAccountLinkStore store,
    ICredentialVault vault,
    IRefreshSchedule schedule,
    ProviderCatalog providers,
    LinkLeases leases,
    CredentialService credentials,
    LinkRefresher refresher,
    TimeProvider time,
    ILogger<LinkService> logger)
{
    public Task<IReadOnlyList<AccountLink>> ListAsync(string userId, CT ct) => store.ListAsync(userId, ct);

    /// <summary>
    /// Takes the link's lease first (waiting for a refresh in flight, so the token revoked is the newest and no refresher
    /// writes after the erase), revokes at the provider where it allows, then erases the vaulted credential and deletes
    /// the link. When revocation is possible but failed, or the provider answered without revoking, nothing is erased:
    /// erasing would throw away the only token that can still revoke. Once revocation gave a definite outcome the link is
    /// marked <see cref="LinkStatus.Unlinking"/>, and the erase runs to the end even if the caller goes away; an unlink
    /// interrupted anyway is finished by the next one.
    /// </summary>
    public async Task<(UnlinkResult? Result, BrokerError? Error)> UnlinkAsync(string userId, string providerId, string accountId, CT ct)
    {
        var link = await store.GetAsync(userId, providerId, accountId, ct);
        if (link is null)
        {
            return (null, BrokerErrors.LinkNotFound(providerId));
        }

        AccountLink? leased;
        try
        {
            leased = await leases.AcquireAsync(link, "unlink-" + Guid.NewGuid().ToString("N")[..12], ct);
        }
        catch (LinkConcurrencyException)
        {
            return (null, BrokerErrors.LinkBusy);
        }

        if (leased is null)
        {
            return (null, BrokerErrors.LinkNotFound(providerId));
        }

        RevocationResult revocation;
        if (leased.Status == LinkStatus.Unlinking)
        {
            revocation = new RevocationResult(UnlinkingRevocation(leased.LastFailure), "An earlier unlink already settled the revocation; this one finished erasing.");
        }
        else
        {
            AccountLink? held;
            BrokerError? interrupted;
            (held, revocation, interrupted) = await RevokeHeldAsync(leased, ct);
            if (held is null)
            {
                return (null, interrupted);
            }

            leased = held;
            if (revocation.RefreshFirst)
            {
                var (again, retried, error) = await RefreshThenRevokeAsync(leased, ct);
                if (error is not null)
                {
                    return (null, error);
                }

                (leased, revocation) = (again!, retried!);
            }

            switch (revocation.Status)
            {
                case RevocationStatus.Unavailable:
                    LogRevocationDeferred(logger, providerId);
                    await RecordAsync(leased, "revocation_unavailable");
                    return (null, BrokerErrors.RevocationUnavailable(revocation.Detail));
                case RevocationStatus.Refused:
                    // RFC 7009 §2.2: only a 200 is success. The grant may be live, and its token is the only way to end it.
                    LogRevocationRefused(logger, providerId);
                    await RecordAsync(leased, "revocation_refused");
                    return (null, BrokerErrors.RevocationRefused(revocation.Detail));
            }

            // Note: from here on not the caller's token; a definite outcome is recorded and the erase runs to the end.
            leased = await store.ReplaceAsync((leased with { Status = LinkStatus.Unlinking, LastFailure = UnlinkingCode(revocation.Status), NextRefreshAt = null })
                .Announcing(LinkEventTypes.Deleted, time.GetUtcNow(), revocation: revocation.Status), CT.None);
        }

        var erasure = await vault.DeleteAsync(leased.CredentialName, CT.None);
        await store.DeleteAsync(leased, CT.None);
        if (leased.DueKey is { } dueKey)
        {
            await schedule.RemoveAsync(dueKey, CT.None);
        }

        credentials.Forget(userId, providerId, accountId);
        LogUnlinked(logger, providerId, revocation.Status, erasure);
        var erased = erasure != CredentialErasure.SoftDeleted;
        return (new UnlinkResult(providerId, accountId, revocation.Status, revocation.Detail, erased, ErasureDetail(erasure)), null);
    }

    private static string ErasureDetail(CredentialErasure erasure) => erasure switch
    {
        CredentialErasure.SoftDeleted =>
            "The credential was deleted from the vault, but the vault keeps deleted secrets recoverable by its administrators until its retention period ends (7–90 days, set on the vault); it is then erased.",
        _ => "The credential was erased from the vault; nothing is recoverable.",
    };

    private static string UnlinkingCode(RevocationStatus status) => "unlinking_" + status.ToString().ToLowerInvariant();

    private static RevocationStatus UnlinkingRevocation(string? code) =>
        Enum.GetValues<RevocationStatus>().FirstOrDefault(s => UnlinkingCode(s) == code, RevocationStatus.NoLongerPossible);

    /// <summary>The outcome of a deferred unlink is written on the link (and the lease given back), so operators and the user can see it.</summary>
    private async Task RecordAsync(AccountLink leased, string outcome)
    {
        try
        {
            await store.ReplaceAsync(leased with { LastFailure = outcome, LeaseOwner = null, LeaseUntil = null, UnlinkRequestedAt = null }, CT.None);
        }
        catch (LinkConcurrencyException)
        {
            // Our lease is gone; the lease holder's state wins.
        }
    }

    /// <summary>
    /// The provider needs a live access token to revoke (<see cref="RevocationResult.RefreshFirst"/>; WhiteBIT deletes the
    /// user's key only with one): the lease goes back to the refresher, which renews the pair by its own rules (its lease,
    /// the spend marker, the vault write first), then the lease is taken again and revocation is tried once more with
    /// the new credential. Only a refresh that ended with a stored credential leads to that second try; a refresh token
    /// the provider rejected leaves nothing that could revoke, and any other outcome (unknown, backing off, busy) erases
    /// nothing. Null link: it disappeared meanwhile. A pending link is given back with the unlink's intent on it
    /// (<see cref="LinkLeases.ReleaseForUnlinkAsync"/>): another instance's sweep in the gap leaves it to this unlink
    /// instead of linking its key, which would answer the user's unlink with 404 and leave an active link behind.
    /// </summary>
    private async Task<(AccountLink? Leased, RevocationResult? Revocation, BrokerError? Error)> RefreshThenRevokeAsync(AccountLink leased, CT ct)
    {
        await leases.ReleaseForUnlinkAsync(leased);
        var refreshed = await refresher.RefreshAsync(leased.UserId, leased.ProviderId, leased.AccountId, LinkRefresher.Mode.Force, ct);
        var current = await store.GetAsync(leased.UserId, leased.ProviderId, leased.AccountId, ct);
        AccountLink? again;
        try
        {
            again = current is null ? null : await leases.AcquireAsync(current, "unlink-" + Guid.NewGuid().ToString("N")[..12], ct);
        }
        catch (LinkConcurrencyException)
        {
            return (null, null, BrokerErrors.LinkBusy);
        }

        if (again is null)
        {
            return (null, null, BrokerErrors.LinkNotFound(leased.ProviderId));
        }

        if (refreshed != RefreshOutcome.Refreshed && RenewedMeanwhile(leased, again))
        {
            // Another holder renewed the pair in the gap (another instance's sweep, the last run that could renew a pending
            // link's pair), and this renewal lost to it (WhiteBIT's 1 request/s, its lease): the row names the newer pair.
            refreshed = RefreshOutcome.Refreshed;
        }

        switch (refreshed)
        {
            case RefreshOutcome.Refreshed:
                var (held, revocation, interrupted) = await RevokeHeldAsync(again, ct);
                if (held is null)
                {
                    return (null, null, interrupted);
                }

                LogRevokedAfterRefresh(logger, leased.ProviderId, revocation.Status);
                // Asked once: a provider asking for a refresh again right after one is not told yes forever.
                return (held, revocation.RefreshFirst ? revocation with { RefreshFirst = false } : revocation, null);
            case RefreshOutcome.ReauthRequired or RefreshOutcome.Expired:
                return (again, new RevocationResult(RevocationStatus.NoLongerPossible,
                    "The link's refresh token can no longer renew the access token (the provider rejected it, or its last renewal's outcome is unknown), so nothing is left to revoke with: revoke the access (delete the API key) in the provider's own settings. The broker's copy was erased."), null);
            default:
                return (again, new RevocationResult(RevocationStatus.Unavailable,
                    $"Revocation needs a live access token and it could not be renewed now ({RenewalFailure(refreshed)}); nothing was erased, retry the unlink later."), null);
        }
    }

    /// <summary>
    /// Same grant and status, a later issue (a later <see cref="AccountLink.LastRefreshAt"/> or access-token expiry), and
    /// no spend in doubt: renewed by someone else since it was given back. Not a newer credential version alone: the
    /// vault's write-proof copy before a spend is a new version with the same tokens, and a spend refused before it was
    /// sent leaves the row naming it.
    /// </summary>
    private static bool RenewedMeanwhile(AccountLink givenBack, AccountLink again) =>
        again.Status == givenBack.Status && again.CredentialName == givenBack.CredentialName && !again.SpendInDoubt
        && (Later(again.LastRefreshAt, givenBack.LastRefreshAt) || Later(again.AccessTokenExpiresAt, givenBack.AccessTokenExpiresAt));

    private static bool Later(DateTimeOffset? now, DateTimeOffset? before) => now is { } at && (before is null || at > before);

    /// <summary>
    /// Revokes under a lease kept alive for as long as that takes (<see cref="LinkLeases.KeepAsync"/>): WhiteBIT's key
    /// deletion waits out 423s for up to <c>KeyDeletionLockedTotalWait</c> (90 s by default, up to 200 s), which can
    /// outlast the unlink's lease, and a sweep taking the lapsed lease could link a pending key or renew the pair under
    /// it. The row as last written comes back for the unlink's next write; when the lease could not be kept, or was lost
    /// (the revocation is then cancelled where it was, and nothing is erased), null and the problem that tells the user
    /// what happened at the provider and that a retry finishes the unlink.
    /// </summary>
    private async Task<(AccountLink? Held, RevocationResult Revocation, BrokerError? Interrupted)> RevokeHeldAsync(AccountLink leased, CT ct)
    {
        LeaseHeartbeat heartbeat;
        try
        {
            heartbeat = await leases.StartKeepingAsync(leased, ct);
        }
        catch (LinkConcurrencyException)
        {
            return (null, NotStarted, BrokerErrors.UnlinkOvertaken(NothingSent));
        }
        catch (StorageUnavailableException)
        {
            // Nothing was sent to the provider and nothing written: exactly what storage_unavailable says.
            return (null, NotStarted, BrokerErrors.StorageUnavailable);
        }

        await using var held = heartbeat;
        using var stops = CancellationTokenSource.CreateLinkedTokenSource(ct, heartbeat.Lost);
        RevocationResult revocation;
        var stopped = false;
        try
        {
            revocation = await RevokeAsync(leased, stops.Token);
        }
        catch (OperationCanceledException) when (heartbeat.Lost.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            stopped = true;
            revocation = new RevocationResult(RevocationStatus.Unavailable, "The link's lease was lost during revocation.");
        }

        var row = await heartbeat.StopAsync();
        if (row is not null)
        {
            return (row, revocation, null);
        }

        LogLeaseLost(logger, leased.ProviderId, revocation.Status, heartbeat.TakenByAnother);
        var atProvider = AtProvider(revocation, stopped);
        return (null, revocation, heartbeat.TakenByAnother
            ? BrokerErrors.UnlinkOvertaken(atProvider)
            : BrokerErrors.UnlinkInterruptedByStorage(atProvider) with { RetryAfterSeconds = (int)Math.Ceiling(leases.Longest.TotalSeconds) });
    }

    private static readonly RevocationResult NotStarted = new(RevocationStatus.Unavailable, "The link's lease could not be kept.");

    private const string NothingSent = "Nothing was sent to the provider.";

    /// <summary>
    /// What the provider did before the unlink lost its lease. A retry revokes again: RFC 7009 §2.2 answers 200 for a token
    /// already revoked, and a provider that says it has nothing left to revoke ends in a definite outcome, so it finishes.
    /// </summary>
    private static string AtProvider(RevocationResult revocation, bool stopped) => stopped
        ? "The revocation at the provider was stopped before it answered, so whether the provider revoked the access is unknown; the retry revokes again."
        : revocation.Status switch
        {
            RevocationStatus.Revoked => "The provider had already revoked the access (" + revocation.Detail + ").",
            _ => "The provider did not revoke the access (" + revocation.Detail + ").",
        };

    private static string RenewalFailure(RefreshOutcome outcome) => outcome switch
    {
        RefreshOutcome.OutcomeUnknown => "the renewal's outcome is unknown, so its refresh token is not sent again",
        RefreshOutcome.Busy => "another refresh is in flight",
        RefreshOutcome.Retrying or RefreshOutcome.BackingOff => "the provider did not renew it yet",
        _ => "renewal: " + outcome.ToString(),
    };

    private async Task<RevocationResult> RevokeAsync(AccountLink link, CT ct)
    {
        var provider = providers.Find(link.ProviderId);
        if (provider is null)
        {
            return new RevocationResult(RevocationStatus.NoLongerPossible,
                $"The provider '{link.ProviderId}' is no longer configured, so nothing could be revoked there; revoke the access in the provider's own settings.");
        }

        // Read under the lease: the newest credential (a lost spend's stored result included), which no refresher can
        // rotate before the erase.
        var credential = await vault.ReadCurrentAsync(link, ct);
        if (credential is null)
        {
            return new RevocationResult(RevocationStatus.NoLongerPossible, "The credential was already erased; nothing was left to revoke with.");
        }

        if (link.Status == LinkStatus.PendingKey && provider is IDeferredAuthorization deferred)
        {
            // Unlinked while waiting for the key: remove the key this flow created, if one appeared; never one of the
            // user's other links. What is still to come (a key the user creates later) is the user's to delete.
            var existing = await Flows.DeferredProviderLeg.ExistingAccountIdsAsync(store, link.UserId, link.ProviderId, ct);
            var pending = new PendingAuthorization(credential.Credential, link.Scopes, link.PendingProgress ?? new Dictionary<string, string>(), time.GetUtcNow()) { ExistingAccountIds = existing };
            return await deferred.AbandonAsync(pending, ct);
        }

        if (link.SpendInDoubt && credential.RefreshedFrom != link.SpendingVersion)
        {
            // The newest refresh token may have been rotated by a refresh whose answer was lost: revoking with the old one
            // may not reach the grant. Still the best there is; the detail says so.
            var result = await provider.RevokeAsync(credential.Credential, ct);
            return result.Status == RevocationStatus.Revoked
                ? result with { Detail = result.Detail + " A refresh's answer was lost earlier, so the provider may hold newer tokens this could not reach; check the provider's own settings." }
                : result;
        }

        return await provider.RevokeAsync(credential.Credential, ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unlink at {ProviderId} stopped: its lease was lost during revocation ({Revocation}; taken by another writer: {TakenByAnother}, otherwise storage did not take a renewal by its deadline); nothing erased")]
    private static partial void LogLeaseLost(ILogger logger, string providerId, RevocationStatus revocation, bool takenByAnother);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unlink at {ProviderId} deferred: revocation failed transiently, nothing erased")]
    private static partial void LogRevocationDeferred(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unlink at {ProviderId} stopped: the provider answered without revoking; nothing erased. Check the provider's client credentials and revocation settings.")]
    private static partial void LogRevocationRefused(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unlink at {ProviderId} renewed the access token first; revocation then: {Revocation}")]
    private static partial void LogRevokedAfterRefresh(ILogger logger, string providerId, RevocationStatus revocation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account unlinked at {ProviderId}; revocation: {Revocation}; credential: {Erasure}")]
    private static partial void LogUnlinked(ILogger logger, string providerId, RevocationStatus revocation, CredentialErasure erasure);
}

/// <param name="Revocation">What revocation at the provider achieved.</param>
/// <param name="RevocationDetail">What that means for the user, in words.</param>
/// <param name="CredentialErased">True only when nothing of the credential is recoverable (purged, or never there); a soft-deleted secret is not erased.</param>
/// <param name="CredentialDetail">What the vault keeps, in words.</param>
public sealed record UnlinkResult(string ProviderId, string AccountId, RevocationStatus Revocation, string RevocationDetail, bool CredentialErased, string CredentialDetail);
