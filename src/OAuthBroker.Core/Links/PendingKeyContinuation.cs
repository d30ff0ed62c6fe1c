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
/// <item>RefreshNeeded: the spend is marked on the row, the refresh token spent (WhiteBIT paces 1 request/s), the
/// rotated pair vaulted naming the version it came from, and the row pointed at it; a spend whose outcome stays
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
    VaultWriteGate gate,
    IOptions<BrokerOptions> brokerOptions,
    TimeProvider time,
    ILogger<PendingKeyContinuation> logger)
{
    /// <summary>Refreshes within one continuation: a token refused again right after a renewal is not renewed forever.</summary>
    private const int MaxRenewals = 1;

    private readonly string _instance = "pending-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>
    /// (user, provider) pairs being continued in this instance. WhiteBIT allows one key per user and partner, so two pending
    /// links of one user see the same key; one at a time, the second finds it linked (ExistingAccountIds) instead of taking
    /// a 409 on its secret for "created by this flow". Entries leave when done: nothing accumulates.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);

    public async Task<RefreshOutcome> ContinueAsync(AccountLink link, CT ct)
    {
        var pair = link.UserId + "\n" + link.ProviderId;
        if (!_running.TryAdd(pair, 0))
        {
            // Looked at again by the next run (its due entry stays).
            return RefreshOutcome.Busy;
        }

        try
        {
            return await ContinueOneAsync(link, ct);
        }
        finally
        {
            _running.TryRemove(pair, out _);
        }
    }

    private async Task<RefreshOutcome> ContinueOneAsync(AccountLink link, CT ct)
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
            return await ContinueLeasedAsync(leased, provider, deferred, ct);
        }
        catch
        {
            await leases.ReleaseQuietlyAsync(leased);
            throw;
        }
    }

    private async Task<RefreshOutcome> ContinueLeasedAsync(AccountLink leased, IOAuthProvider provider, IDeferredAuthorization deferred, CT ct)
    {
        var vaulted = await vault.ReadCurrentAsync(leased, ct);
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
        if (now > leased.CreatedAt + brokerOptions.Value.PendingKeyLifetime)
        {
            return await FailAsync(leased, vaulted, deferred, "pending_key_timeout", ct);
        }

        var pending = Pending(leased, vaulted, existing, now);
        var step = await deferred.ContinueAsync(pending, ct);
        for (var renewals = 0; step is PendingStep.RefreshNeeded && renewals < MaxRenewals; renewals++)
        {
            var renewed = await RenewAsync(leased, vaulted, provider, ct);
            if (renewed.Stop is { } stop)
            {
                return stop;
            }

            (leased, vaulted) = (renewed.Leased!, renewed.Vaulted!);
            step = await deferred.ContinueAsync(Pending(leased, vaulted, existing, time.GetUtcNow()), ct);
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
                    NextRefreshAt = waiting.Next.NextAttemptAt,
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
                    NextRefreshAt = time.GetUtcNow() + policy.RetryDelay(failures, transient.Failure.RetryAfter),
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

    /// <summary>
    /// Spends the refresh token under the lease: the vault must take writes, the spend is marked on the row first (so an
    /// outcome that never comes back is known to be unknown), and the rotated pair is vaulted before the row names it.
    /// </summary>
    private async Task<(AccountLink? Leased, VaultedCredential? Vaulted, RefreshOutcome? Stop)> RenewAsync(AccountLink leased, VaultedCredential vaulted, IOAuthProvider provider, CT ct)
    {
        if (!(await gate.CheckAsync(ct)).MaySpend)
        {
            await recorder.ReplaceWithScheduleAsync(leased, Released(leased) with { NextRefreshAt = time.GetUtcNow() + policy.RetryDelay(1, null), LastFailure = "vault_writes_blocked" }, CT.None);
            return (null, null, RefreshOutcome.VaultWritesBlocked);
        }

        var marked = await store.ReplaceAsync(leases.WithLease(leased, _instance) with { SpendingVersion = leased.CredentialVersion ?? vaulted.Version, SpendStartedAt = leases.Now }, ct);
        // Note: not the caller's token from here on; a spend that was sent must get its result stored.
        var renewal = await provider.RefreshAsync(vaulted.Credential, CT.None);
        if (!renewal.Succeeded)
        {
            if (renewal.Failure.Kind is ProviderFailureKind.Unavailable)
            {
                // Perhaps sent and spent: the marker stays, the next run adopts a stored result or gives up.
                await recorder.ReplaceWithScheduleAsync(marked, Released(marked) with { LastFailure = LinkRefresher.OutcomeUnknownCode, NextRefreshAt = time.GetUtcNow() + policy.RetryDelay(1, null) }, CT.None);
                return (null, null, RefreshOutcome.OutcomeUnknown);
            }

            var cleared = marked with { SpendingVersion = null, SpendStartedAt = null };
            if (renewal.Failure.Kind is ProviderFailureKind.RateLimited)
            {
                // A definite answer: nothing was spent.
                await recorder.ReplaceWithScheduleAsync(marked, Released(cleared) with { LastFailure = renewal.Failure.ProviderCode, NextRefreshAt = time.GetUtcNow() + policy.RetryDelay(1, renewal.Failure.RetryAfter) }, CT.None);
                return (null, null, RefreshOutcome.Retrying);
            }

            return (null, null, await FailAsync(cleared, vaulted, null, renewal.Failure.ProviderCode, CT.None));
        }

        var now = time.GetUtcNow();
        var document = vaulted with { Credential = Merge(vaulted.Credential, renewal.Value), StoredAt = now, RefreshedFrom = marked.SpendingVersion };
        var version = await vault.WriteAsync(marked.CredentialName, document, CT.None);
        document = document with { Version = version };
        var stored = await store.ReplaceAsync(Describe(marked, document) with
        {
            SpendingVersion = null,
            SpendStartedAt = null,
            CredentialVersion = version,
            CredentialStoredAt = now,
            CredentialVersions = marked.CredentialVersions + 1,
            LastRefreshAt = now,
        }, CT.None);
        LogRenewed(logger, leased.ProviderId);
        return (stored, document, null);
    }

    /// <summary>
    /// The final end: the flow's own key removed where it can be (renewing first when only a refresh token can still
    /// reach it), the row marked <see cref="LinkStatus.ReauthRequired"/> with the reason and the event in one write.
    /// </summary>
    private async Task<RefreshOutcome> FailAsync(AccountLink leased, VaultedCredential? vaulted, IDeferredAuthorization? deferred, string code, CT ct, bool abandon = true)
    {
        RevocationStatus? removed = null;
        if (abandon && deferred is not null && vaulted is not null)
        {
            var existing = await DeferredProviderLeg.ExistingAccountIdsAsync(store, leased.UserId, leased.ProviderId, ct);
            if (vaulted.Credential.AccessTokenExpiresAt <= time.GetUtcNow() && vaulted.Credential.RefreshToken is not null && !leased.SpendInDoubt
                && providers.Find(leased.ProviderId) is { } provider)
            {
                var renewed = await RenewAsync(leased, vaulted, provider, ct);
                if (renewed.Stop is not null)
                {
                    // RenewAsync wrote the row's state (a retry, or its own final end).
                    return renewed.Stop.Value;
                }

                (leased, vaulted) = (renewed.Leased!, renewed.Vaulted!);
            }

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

    /// <summary>What a refresh returned, over what was held (a refresh token that did not come back stays valid).</summary>
    private static ProviderCredential Merge(ProviderCredential held, ProviderCredential refreshed) => refreshed with
    {
        RefreshToken = refreshed.RefreshToken ?? held.RefreshToken,
        RefreshTokenExpiresAt = refreshed.RefreshToken is null ? held.RefreshTokenExpiresAt : refreshed.RefreshTokenExpiresAt,
        ApiKey = held.ApiKey,
        ApiSecret = held.ApiSecret,
        Metadata = held.Metadata,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Pending key at {ProviderId} is ready; the link is {Status}")]
    private static partial void LogKeyReady(ILogger logger, string providerId, LinkStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending key at {ProviderId} failed ({Code}); what the flow created at the provider: {Removed} (none: not attempted); the user must connect again")]
    private static partial void LogKeyFailed(ILogger logger, string providerId, string code, RevocationStatus? removed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pending key at {ProviderId}: the access token was renewed and the rotated pair stored")]
    private static partial void LogRenewed(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending key at {ProviderId} linked, but its pending row could not be removed ({ExceptionType}); the next run removes it")]
    private static partial void LogRemoveFailed(ILogger logger, string providerId, string exceptionType);
}
