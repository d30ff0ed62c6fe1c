using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Flows;
using OAuthBroker.Providers;
using OAuthBroker.Refresh;

namespace OAuthBroker.Links;

/// <summary>
/// Continues a <see cref="LinkStatus.PendingKey"/> link in scheduled work (the refresh sweep picks it up from the due
/// index at its next attempt, so it runs under the sweep's budget and concurrency, under the Functions timer and
/// standalone alike). Every step runs under the link's lease, the same rule as refreshes: of two instances only the
/// one whose compare-and-swap took the lease acts. The pending tokens stay in the vault under the row's secret; the
/// row holds only the provider's non-secret progress.
/// <list type="bullet">
/// <item>Waiting: the progress and the next attempt are written back.</item>
/// <item>RefreshNeeded, or a refresh token that would expire before the next look: the lease is given back and the
/// refresher renews the pair with the very spend it makes for every link (<see cref="RefreshOutcome.RenewalNeeded"/>:
/// the version the row names, the vault-write gate and its proof, the lease budget, the result vaulted before the row
/// names it, <c>refresh_result_unstored</c> when it cannot be), then continues once more. A spend whose outcome stays
/// unknown is never repeated (<see cref="CredentialVaultReads.ReadCurrentAsync"/> adopts its stored result).</item>
/// <item>Completed: the grant is linked under the key's account (<see cref="LinkEventTypes.WhiteBitKeyReady"/> in the
/// same write as the link), then the pending row and its secret are removed. A crash in between is found by the next
/// run: a link of the user already holding these tokens means the pending row is only removed.</item>
/// <item>Failed (final), or <see cref="BrokerOptions.PendingKeyLifetime"/> passed: the provider removes what the flow
/// created (<see cref="IDeferredAuthorization.AbandonAsync"/>; never a key one of the user's links uses), and the row
/// ends <see cref="LinkStatus.ReauthRequired"/> with the reason (<see cref="LinkEventTypes.WhiteBitKeyFailed"/>).
/// Transient failures are retried with the refresh backoff.</item>
/// </list>
/// </summary>
public sealed partial class PendingKeyContinuation(
    IAccountLinkStore store,
    ICredentialVault vault,
    ProviderCatalog providers,
    RefreshRecorder recorder,
    RefreshPolicy policy,
    LinkLeases leases,
    LinkWriter writer,
    IOptions<BrokerOptions> brokerOptions,
    TimeProvider time,
    ILogger<PendingKeyContinuation> logger)
{
    private readonly string _instance = "pending-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>
    /// (user, provider) pairs being continued in this instance. WhiteBIT allows one key per user and partner, so two pending
    /// links of one user see the same key; one at a time, the second finds it linked (ExistingAccountIds) instead of taking
    /// a 409 on its secret for "created by this flow". Entries leave when done: nothing accumulates.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);

    public Task<RefreshOutcome> ContinueAsync(AccountLink link, CT ct) => ContinueAsync(link, afterRenewal: false, ct);

    /// <summary>
    /// One step of the pending link. <see cref="RefreshOutcome.RenewalNeeded"/>: the lease was given back for the
    /// refresher to renew the pair; <paramref name="afterRenewal"/> is the step right after it (a token refused again is
    /// not renewed forever).
    /// </summary>
    public async Task<RefreshOutcome> ContinueAsync(AccountLink link, bool afterRenewal, CT ct)
    {
        var pair = link.UserId + "\n" + link.ProviderId;
        if (!_running.TryAdd(pair, 0))
        {
            // Looked at again by the next run (its due entry stays).
            return RefreshOutcome.Busy;
        }

        try
        {
            return await ContinueOneAsync(link, afterRenewal, ct);
        }
        finally
        {
            _running.TryRemove(pair, out _);
        }
    }

    private async Task<RefreshOutcome> ContinueOneAsync(AccountLink link, bool afterRenewal, CT ct)
    {
        if (leases.HeldByOther(link, _instance))
        {
            return RefreshOutcome.Busy;
        }

        if (providers.Find(link.ProviderId) is not { } provider || provider is not IDeferredAuthorization deferred)
        {
            await recorder.ParkAsync(link, "provider_unavailable", time.GetUtcNow() + TimeSpan.FromMinutes(5), ct);
            return RefreshOutcome.ProviderUnavailable;
        }

        AccountLink leased;
        try
        {
            leased = await store.ReplaceAsync(leases.WithLease(link, _instance), ct);
        }
        catch (LinkConcurrencyException)
        {
            // Another instance took it (or finished it) between our read and our lease.
            return RefreshOutcome.Busy;
        }

        try
        {
            return await ContinueLeasedAsync(leased, deferred, afterRenewal, ct);
        }
        catch
        {
            await leases.ReleaseQuietlyAsync(leased);
            throw;
        }
    }

    private async Task<RefreshOutcome> ContinueLeasedAsync(AccountLink leased, IDeferredAuthorization deferred, bool afterRenewal, CT ct)
    {
        var (vaulted, notVisible) = await ReadDescribedAsync(leased, ct);
        if (notVisible)
        {
            // Right after a renewal the vault may not show the version the row names yet (reads lag writes, "within 60
            // seconds" on a vault allow-listed for throughput): an earlier version standing in for it would be the pair
            // the renewal rotated out. Looked at again by the next run.
            LogVersionNotVisible(logger, leased.ProviderId);
            await leases.ReleaseQuietlyAsync(leased);
            return RefreshOutcome.Deferred;
        }

        if (vaulted is null)
        {
            return await FailAsync(leased, null, deferred, "credential_missing", ct);
        }

        if (leased.SpendInDoubt)
        {
            if (vaulted.RefreshedFrom != leased.SpendingVersion)
            {
                // A renewal's answer was lost and its result is not in the vault: the refresh token may be spent, and is
                // never sent again. The access token held may still serve to remove the flow's key.
                return await FailAsync(leased, vaulted, deferred, LinkRefresher.OutcomeUnknownCode, ct);
            }

            leased = await store.ReplaceAsync(Describe(leased, vaulted) with { SpendingVersion = null, SpendStartedAt = null }, ct);
        }

        var existing = await DeferredProviderLeg.ExistingAccountIdsAsync(store, leased.UserId, leased.ProviderId, ct);
        if (await AlreadyLinkedAsync(leased, vaulted, existing, ct))
        {
            await RemovePendingAsync(leased);
            return RefreshOutcome.Refreshed;
        }

        var now = time.GetUtcNow();
        // Counted from the pair's issue, not the row's last write, so the look scheduled below and the check here agree.
        var described = Describe(leased, vaulted) with { UpdatedAt = leased.LastRefreshAt ?? leased.CreatedAt };
        var renewable = !afterRenewal && vaulted.Credential.RefreshToken is not null && !(vaulted.Credential.RefreshTokenExpiresAt <= now);
        if (now > leased.CreatedAt + brokerOptions.Value.PendingKeyLifetime)
        {
            // Removing the flow's key needs a live access token: renewed first while the refresh token still can.
            return renewable && vaulted.Credential.AccessTokenExpiresAt <= now
                ? await HandOverForRenewalAsync(leased)
                : await FailAsync(leased, vaulted, deferred, "pending_key_timeout", ct);
        }

        if (renewable && vaulted.Credential.RefreshTokenExpiresAt is { } refreshExpires && refreshExpires - policy.MarginFor(described) <= now)
        {
            // Renewed ahead of time: a refresh token that dies while the link waits (WhiteBIT's newest reading: 600 s)
            // would leave the flow nothing to fetch the key with, or to remove it.
            return await HandOverForRenewalAsync(leased);
        }

        var pending = Pending(leased, vaulted, existing, now);
        var step = await deferred.ContinueAsync(pending, ct);
        if (step is PendingStep.RefreshNeeded && !afterRenewal)
        {
            return await HandOverForRenewalAsync(leased);
        }

        switch (step)
        {
            case PendingStep.Completed done:
                var linked = await writer.SaveAsync(leased.UserId, leased.ProviderId, done.Grant, CT.None, alsoAnnouncing: LinkEventTypes.WhiteBitKeyReady);
                await RemovePendingAsync(leased);
                LogKeyReady(logger, leased.ProviderId, linked.Status);
                return RefreshOutcome.Refreshed;
            case PendingStep.Waiting waiting:
                await recorder.ReplaceWithScheduleAsync(leased, Released(leased) with
                {
                    PendingProgress = waiting.Next.Progress,
                    WaitingFor = DeferredProviderLeg.WaitCode(waiting.Reason),
                    // Never past the refresh token's expiry less the margin: the next look renews it ahead of time.
                    NextRefreshAt = policy.RetryAt(described, now, waiting.Next.NextAttemptAt - now),
                    UpdatedAt = time.GetUtcNow(),
                }, CT.None);
                return RefreshOutcome.Deferred;
            case PendingStep.Failed { Failure.Kind: ProviderFailureKind.Unavailable or ProviderFailureKind.RateLimited } transient:
                var failures = leased.RefreshFailures + 1;
                await recorder.ReplaceWithScheduleAsync(leased, Released(leased) with
                {
                    RefreshFailures = failures,
                    LastFailure = transient.Failure.ProviderCode,
                    WaitingFor = "provider_unavailable",
                    NextRefreshAt = policy.RetryAt(described, now, policy.RetryDelay(failures, transient.Failure.RetryAfter)),
                    UpdatedAt = time.GetUtcNow(),
                }, CT.None);
                return RefreshOutcome.Retrying;
            case PendingStep.Failed failed:
                return await FailAsync(leased, vaulted, deferred, failed.Failure.ProviderCode, ct,
                    abandon: failed.Failure.Kind is not (ProviderFailureKind.RestartRequired or ProviderFailureKind.AccountNotEligible));
            default:
                // Still RefreshNeeded after a renewal: the provider refuses the renewed token as well.
                return await FailAsync(leased, vaulted, deferred, "token_rejected", ct);
        }
    }

    /// <summary>The lease given back for the refresher's spend (<see cref="RefreshOutcome.RenewalNeeded"/>); it takes its own.</summary>
    private async Task<RefreshOutcome> HandOverForRenewalAsync(AccountLink leased)
    {
        try
        {
            await store.ReplaceAsync(Released(leased), CT.None);
        }
        catch (LinkConcurrencyException)
        {
            return RefreshOutcome.Busy;
        }

        return RefreshOutcome.RenewalNeeded;
    }

    /// <summary>
    /// The final end: the flow's own key removed where it can be (the deadline renews first when only a refresh token
    /// can still reach it), the row marked <see cref="LinkStatus.ReauthRequired"/> with the reason and the event in one write.
    /// </summary>
    private async Task<RefreshOutcome> FailAsync(AccountLink leased, VaultedCredential? vaulted, IDeferredAuthorization? deferred, string code, CT ct, bool abandon = true)
    {
        RevocationStatus? removed = null;
        if (abandon && deferred is not null && vaulted is not null)
        {
            var existing = await DeferredProviderLeg.ExistingAccountIdsAsync(store, leased.UserId, leased.ProviderId, ct);
            var result = await deferred.AbandonAsync(Pending(leased, vaulted, existing, time.GetUtcNow()), CT.None);
            removed = result.Status;
        }

        var now = time.GetUtcNow();
        var failed = Released(leased) with
        {
            Status = LinkStatus.ReauthRequired,
            LastFailure = code,
            WaitingFor = null,
            NextRefreshAt = null,
            UpdatedAt = now,
        };
        await recorder.ReplaceWithScheduleAsync(leased, failed.Announcing(LinkEventTypes.WhiteBitKeyFailed, now, code), CT.None);
        LogKeyFailed(logger, leased.ProviderId, code, removed);
        return RefreshOutcome.ReauthRequired;
    }

    /// <summary>A link of the user already holds these tokens: a run before this one linked it and died before removing the pending row.</summary>
    private async Task<bool> AlreadyLinkedAsync(AccountLink leased, VaultedCredential vaulted, IReadOnlySet<string> existing, CT ct)
    {
        foreach (var accountId in existing)
        {
            if (await store.GetAsync(leased.UserId, leased.ProviderId, accountId, ct) is { } other
                && await vault.ReadCurrentAsync(other, ct) is { } theirs
                && LinkWriter.SameGrant(theirs.Credential, vaulted.Credential))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Removes the pending row, its due entry and its secret (the linked grant has its own). Best effort: the janitor finds a secret left behind.</summary>
    private async Task RemovePendingAsync(AccountLink leased)
    {
        try
        {
            await store.DeleteAsync(leased, CT.None);
            if (leased.DueKey is { } dueKey)
            {
                await recorder.RemoveEntryAsync(dueKey, CT.None);
            }

            await vault.DeleteAsync(leased.CredentialName, CT.None);
        }
        catch (Exception ex) when (ex is VaultUnavailableException or StorageUnavailableException or LinkConcurrencyException)
        {
            LogRemoveFailed(logger, leased.ProviderId, ex.GetType().Name);
        }
    }

    private static PendingAuthorization Pending(AccountLink leased, VaultedCredential vaulted, IReadOnlySet<string> existing, DateTimeOffset now) =>
        new(vaulted.Credential, leased.Scopes, leased.PendingProgress ?? new Dictionary<string, string>(), leased.NextRefreshAt ?? now) { ExistingAccountIds = existing };

    private static AccountLink Released(AccountLink leased) => leased with { LeaseOwner = null, LeaseUntil = null };

    private static AccountLink Describe(AccountLink link, VaultedCredential vaulted) => link with
    {
        HasRefreshToken = vaulted.Credential.RefreshToken is not null,
        AccessTokenExpiresAt = vaulted.Credential.AccessTokenExpiresAt,
        RefreshTokenExpiresAt = vaulted.Credential.RefreshTokenExpiresAt,
        CredentialVersion = vaulted.Version ?? link.CredentialVersion,
    };

    /// <summary>
    /// The pending credential the row names: its pinned version, never the latest standing in for it (unlike
    /// <see cref="CredentialVaultReads.ReadCurrentAsync"/>); while a spend is in doubt, as there. NotVisible: the secret
    /// exists but not yet the version the row names.
    /// </summary>
    private async Task<(VaultedCredential? Credential, bool NotVisible)> ReadDescribedAsync(AccountLink leased, CT ct)
    {
        if (leased.SpendingVersion is not null || leased.CredentialVersion is not { } version)
        {
            return (await vault.ReadCurrentAsync(leased, ct), false);
        }

        if (await vault.ReadVersionAsync(leased.CredentialName, version, ct) is { } pinned)
        {
            return (pinned, false);
        }

        return (null, await vault.ReadAsync(leased.CredentialName, ct) is not null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "A pending {ProviderId} key waits for the vault to show the credential version its row names")]
    private static partial void LogVersionNotVisible(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pending key at {ProviderId} is ready; the link is {Status}")]
    private static partial void LogKeyReady(ILogger logger, string providerId, LinkStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending key at {ProviderId} failed ({Code}); what the flow created at the provider: {Removed} (none: not attempted); the user must connect again")]
    private static partial void LogKeyFailed(ILogger logger, string providerId, string code, RevocationStatus? removed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending key at {ProviderId} linked, but its pending row could not be removed ({ExceptionType}); the next run removes it")]
    private static partial void LogRemoveFailed(ILogger logger, string providerId, string exceptionType);
}
