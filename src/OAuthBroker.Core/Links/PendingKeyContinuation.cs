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
/// <item>RefreshNeeded, an access token that has run out, or a refresh token that would expire before the next scheduled
/// run could act on the link (<see cref="PendingRenewalHorizon"/>: WhiteBIT's 600 s refresh token against a five-minute timer):
/// the lease is given back and the refresher renews the pair with the very spend it makes for every link (<see cref="RefreshOutcome.RenewalNeeded"/>:
/// the version the row names, the vault-write gate and its proof, the lease budget, the result vaulted before the row
/// names it, <c>refresh_result_unstored</c> when it cannot be), then continues once more. A spend whose outcome stays
/// unknown is never repeated (<see cref="CredentialVaultReads.ReadCurrentAsync"/> adopts its stored result).</item>
/// <item>Completed: the grant is linked under the key's account (<see cref="LinkEventTypes.WhiteBitKeyReady"/> in the
/// same write as the link), then the pending row and its secret are removed. A crash in between is found by the next
/// run: a link of the user already holding these tokens means the pending row is only removed.</item>
/// <item>Failed (final), <see cref="BrokerOptions.PendingKeyLifetime"/> passed, or a renewal the provider rejected or whose
/// outcome is unknown (<see cref="FailHeldAsync"/>, called by the refresher under its lease): the provider removes what
/// the flow created (<see cref="IDeferredAuthorization.AbandonAsync"/>; never a key one of the user's links uses), and
/// the row ends <see cref="LinkStatus.ReauthRequired"/> with the reason (<see cref="LinkEventTypes.WhiteBitKeyFailed"/>)
/// — <see cref="KeyLeftCode"/> when what the flow created could not be removed or checked, so the user knows to delete it.
/// Transient failures are retried with the refresh backoff.</item>
/// <item>An unlink under way (<see cref="AccountLink.UnlinkRequestedAt"/>, written when it gave the lease back for the
/// renewal): left to it; nothing is looked up, linked or failed until the intent lapses.</item>
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
    IOptions<RefreshOptions> refreshOptions,
    PendingRenewalHorizon horizon,
    PendingSpendInDoubt spendInDoubt,
    TimeProvider time,
    ILogger<PendingKeyContinuation> logger)
{
    /// <summary>
    /// The reason a failed pending link gives when a key the flow created is, or may be, still at WhiteBIT: it could not be
    /// deleted, or not even looked for (no live access token left). The user must delete it in WhiteBIT's API settings
    /// before connecting again (one active key per user and partner, fast-api-key-integration, Limits).
    /// </summary>
    public const string KeyLeftCode = "key_left_at_whitebit";

    /// <summary>
    /// The reason a pending link gives when the run that had to renew its pair could not (the provider refused the
    /// renewal before spending it, or nothing could send it) and no later run could: the user connects again.
    /// </summary>
    public const string RenewalFailedCode = "pending_renewal_failed";

    private readonly string _instance = "pending-" + Guid.NewGuid().ToString("N")[..12];

    private readonly PendingKeyFailure _failure = new(store, recorder, leases, time, logger);

    /// <summary>
    /// (user, provider) pairs being continued in this instance. WhiteBIT allows one key per user and partner, so two pending
    /// links of one user see the same key; one at a time, the second finds it linked (ExistingAccountIds) instead of taking
    /// a 409 on its secret for "created by this flow". Entries leave when done: nothing accumulates.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);

    public async Task<RefreshOutcome> ContinueAsync(AccountLink link, CT ct) => (await StepAsync(link, afterRenewal: false, ct)).Outcome;

    /// <summary>
    /// One step of the pending link. <see cref="RefreshOutcome.RenewalNeeded"/>: the lease was given back for the
    /// refresher to renew the pair, and <c>HandedOver</c> is the row as given back (the refresher renews only the
    /// credential version it names); <paramref name="afterRenewal"/> is the step right after it (a token refused again is
    /// not renewed forever).
    /// </summary>
    internal async Task<(RefreshOutcome Outcome, AccountLink? HandedOver)> StepAsync(AccountLink link, bool afterRenewal, CT ct)
    {
        var pair = link.UserId + "\n" + link.ProviderId;
        if (!_running.TryAdd(pair, 0))
        {
            // Looked at again by the next run (its due entry stays).
            return (RefreshOutcome.Busy, null);
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

    private async Task<(RefreshOutcome Outcome, AccountLink? HandedOver)> ContinueOneAsync(AccountLink link, bool afterRenewal, CT ct)
    {
        if (leases.HeldByOther(link, _instance) || (leases.UnlinkRequested(link) && !horizon.MustRenewThisRun(link, time.GetUtcNow())))
        {
            // An unlink under way is left to it, without even a lease taken (that write would cost the unlink's next one).
            return (RefreshOutcome.Busy, null);
        }

        if (providers.Find(link.ProviderId) is not { } provider || provider is not IDeferredAuthorization deferred)
        {
            await recorder.ParkAsync(link, "provider_unavailable", time.GetUtcNow() + TimeSpan.FromMinutes(5), ct);
            return (RefreshOutcome.ProviderUnavailable, null);
        }

        AccountLink leased;
        try
        {
            leased = await store.ReplaceAsync(leases.WithLease(link, _instance), ct);
        }
        catch (LinkConcurrencyException)
        {
            // Another instance took it (or finished it) between our read and our lease.
            return (RefreshOutcome.Busy, null);
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

    private async Task<(RefreshOutcome Outcome, AccountLink? HandedOver)> ContinueLeasedAsync(AccountLink leased, IDeferredAuthorization deferred, bool afterRenewal, CT ct)
    {
        var (vaulted, notVisible) = await ReadDescribedAsync(leased, ct);
        if (notVisible)
        {
            // Right after a renewal the vault may not show the version the row names yet (reads lag writes, "within 60
            // seconds" on a vault allow-listed for throughput): an earlier version standing in for it would be the pair
            // the renewal rotated out. Looked at again by the next run.
            LogVersionNotVisible(logger, leased.ProviderId);
            await leases.ReleaseQuietlyAsync(leased);
            return (RefreshOutcome.Deferred, null);
        }

        if (vaulted is null)
        {
            // No token left to remove anything with; the provider still says from the flow's progress whether something it
            // created may be left (then the reason is key_left_at_whitebit: the user deletes it before connecting again).
            return (await FailAsync(leased, TokenlessPending.For(leased), deferred, "credential_missing", ct), null);
        }

        if (leased.SpendInDoubt)
        {
            if (vaulted.RefreshedFrom != leased.SpendingVersion)
            {
                // A renewal's result is not in the vault: its holder may still store it (held until it cannot, nothing
                // spent or deleted meanwhile). Once it cannot, the refresh token may be spent and is never sent again; the
                // access token held may still serve to remove the flow's key.
                return spendInDoubt.LookAt(leased) is { } look
                    ? (await spendInDoubt.HoldAsync(leased, look, ct), null)
                    : (await FailAsync(leased, vaulted, deferred, LinkRefresher.OutcomeUnknownCode, ct), null);
            }

            leased = await store.ReplaceAsync(Describe(leased, vaulted) with { SpendingVersion = null, SpendStartedAt = null }, ct);
        }

        var existing = await DeferredProviderLeg.ExistingAccountIdsAsync(store, leased.UserId, leased.ProviderId, ct);
        if (await AlreadyLinkedAsync(leased, vaulted, existing, ct))
        {
            await RemovePendingAsync(leased);
            return (RefreshOutcome.Refreshed, null);
        }

        var now = time.GetUtcNow();
        // Counted from the pair's issue, not the row's last write, so the look scheduled below and the check here agree.
        var described = Describe(leased, vaulted) with { UpdatedAt = leased.LastRefreshAt ?? leased.CreatedAt };
        var credential = vaulted.Credential;
        var renewable = !afterRenewal && credential.RefreshToken is not null && !(credential.RefreshTokenExpiresAt <= now);
        var accessRunOut = credential.AccessTokenExpiresAt <= now + refreshOptions.Value.ClockAllowance;
        if (leases.UnlinkRequested(leased))
        {
            // The user's unlink gave the lease back only for the pair's renewal (LinkService): the link's end is the
            // unlink's, so nothing is looked up, linked or failed here. The pair is renewed when this is the last run that
            // can, so an unlink that died still leaves a pair able to delete the flow's key once its intent lapses.
            if (renewable && credential.RefreshTokenExpiresAt <= horizon.NextRunActsBy(now))
            {
                return await HandOverForRenewalAsync(leased);
            }

            await leases.ReleaseQuietlyAsync(leased);
            return (RefreshOutcome.Busy, null);
        }

        if (now > leased.CreatedAt + brokerOptions.Value.PendingKeyLifetime)
        {
            // Removing the flow's key needs a live access token: renewed first while the refresh token still can.
            return renewable && accessRunOut
                ? await HandOverForRenewalAsync(leased)
                : (await FailAsync(leased, vaulted, deferred, "pending_key_timeout", ct), null);
        }

        if (renewable && (accessRunOut || credential.RefreshTokenExpiresAt <= horizon.NextRunActsBy(now)))
        {
            // Renewed now, not when the next run comes: that run may come a whole schedule gap later and reach the link
            // late in its sweep, and a refresh token dead by then (WhiteBIT's newest reading: 600 s, against a
            // five-minute timer) would leave the flow nothing to fetch the key with, or to remove it. An access token
            // that has run out is renewed before the look rather than after a 401.
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
                return (RefreshOutcome.Refreshed, null);
            case PendingStep.Waiting waiting:
                await recorder.ReplaceWithScheduleAsync(leased, Released(leased) with
                {
                    PendingProgress = waiting.Next.Progress,
                    WaitingFor = DeferredProviderLeg.WaitCode(waiting.Reason),
                    // Never past the refresh token's expiry less the margin: the next look renews it ahead of time.
                    NextRefreshAt = horizon.NotPastLastRenewingRun(described, now, policy.RetryAt(described, now, waiting.Next.NextAttemptAt - now)),
                    UpdatedAt = time.GetUtcNow(),
                }, CT.None);
                return (RefreshOutcome.Deferred, null);
            case PendingStep.Failed { Failure.Kind: ProviderFailureKind.Unavailable or ProviderFailureKind.RateLimited } transient:
                var failures = leased.RefreshFailures + 1;
                await recorder.ReplaceWithScheduleAsync(leased, Released(leased) with
                {
                    RefreshFailures = failures,
                    LastFailure = transient.Failure.ProviderCode,
                    WaitingFor = "provider_unavailable",
                    // A Retry-After past the next run must not make that run skip the link (PendingRenewalHorizon).
                    NextRefreshAt = horizon.NotPastLastRenewingRun(described, now, policy.RetryAt(described, now, policy.RetryDelay(failures, transient.Failure.RetryAfter))),
                    UpdatedAt = time.GetUtcNow(),
                }, CT.None);
                return (RefreshOutcome.Retrying, null);
            case PendingStep.Failed failed:
                return (await FailAsync(leased, vaulted, deferred, failed.Failure.ProviderCode, ct,
                    abandon: failed.Failure.Kind is not (ProviderFailureKind.RestartRequired or ProviderFailureKind.AccountNotEligible)), null);
            default:
                // Still RefreshNeeded after a renewal: the provider refuses the renewed token as well.
                return (await FailAsync(leased, vaulted, deferred, "token_rejected", ct), null);
        }
    }

    /// <summary>
    /// The renewal of the only run that can renew the pair did not go through (<paramref name="renewal"/>: refused before
    /// anything was spent, the breaker open, the vault not writing), and the next run would find the refresh token dead:
    /// the flow ends now through its failure path (<see cref="RenewalFailedCode"/>, or <see cref="KeyLeftCode"/> when
    /// what it created could not be removed), rather than at a run left with nothing to act with. Anything else (the
    /// link renewed or changed meanwhile, a spend in doubt, another holder, a fresh unlink intent) returns <paramref name="renewal"/> untouched.
    /// </summary>
    internal async Task<RefreshOutcome> EndUnrenewableAsync(AccountLink link, RefreshOutcome renewal, CT ct)
    {
        var pair = link.UserId + "\n" + link.ProviderId;
        if (!_running.TryAdd(pair, 0))
        {
            return renewal;
        }

        try
        {
            var current = await store.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct);
            // A fresh unlink intent: the unlink renews (or fails to) and deletes the flow's key itself; ending the flow
            // here would leave it nothing to act with and answer the user's unlink for it.
            if (current is not { Status: LinkStatus.PendingKey, SpendInDoubt: false } || leases.HeldByOther(current, _instance)
                || leases.UnlinkRequested(current) || !horizon.MustRenewThisRun(current, time.GetUtcNow()))
            {
                return renewal;
            }

            AccountLink leased;
            try
            {
                leased = await store.ReplaceAsync(leases.WithLease(current, _instance), ct);
            }
            catch (LinkConcurrencyException)
            {
                return renewal;
            }

            var (vaulted, notVisible) = await ReadDescribedAsync(leased, ct);
            if (notVisible)
            {
                await leases.ReleaseQuietlyAsync(leased);
                return renewal;
            }

            LogRenewalGaveUp(logger, leased.ProviderId, renewal);
            return await FailAsync(leased, vaulted, providers.Find(leased.ProviderId) as IDeferredAuthorization, RenewalFailedCode, ct);
        }
        finally
        {
            _running.TryRemove(pair, out _);
        }
    }

    /// <summary>
    /// The refresher's end of a pending link's renewal (under the refresher's lease): the provider rejected the refresh
    /// token, or the spend's outcome is unknown and its refresh token is never sent again. Either way nothing can renew
    /// the pair: the continuation's own failure path, while the held access token may still remove the flow's key.
    /// <paramref name="spendSettled"/>: the token sent was refused, so no spend is in doubt (the marker goes).
    /// </summary>
    internal async Task<RefreshOutcome> FailHeldAsync(AccountLink leased, string code, bool spendSettled, CT ct)
    {
        var row = spendSettled ? leased with { SpendingVersion = null, SpendStartedAt = null } : leased;
        var vaulted = row.CredentialVersion is { } version
            ? await vault.ReadVersionAsync(row.CredentialName, version, ct)
            : await vault.ReadAsync(row.CredentialName, ct);
        return await FailAsync(row, vaulted, providers.Find(row.ProviderId) as IDeferredAuthorization, code, ct);
    }

    /// <summary>The lease given back for the refresher's spend (<see cref="RefreshOutcome.RenewalNeeded"/>); it takes its own.</summary>
    private async Task<(RefreshOutcome Outcome, AccountLink? HandedOver)> HandOverForRenewalAsync(AccountLink leased)
    {
        try
        {
            return (RefreshOutcome.RenewalNeeded, await store.ReplaceAsync(Released(leased), CT.None));
        }
        catch (LinkConcurrencyException)
        {
            return (RefreshOutcome.Busy, null);
        }
    }

    /// <summary>The final end (<see cref="PendingKeyFailure.EndAsync"/>).</summary>
    private Task<RefreshOutcome> FailAsync(AccountLink leased, VaultedCredential? vaulted, IDeferredAuthorization? deferred, string code, CT ct, bool abandon = true) =>
        _failure.EndAsync(leased, abandon ? vaulted : null, deferred, code, ct);

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

    internal static PendingAuthorization Pending(AccountLink leased, VaultedCredential vaulted, IReadOnlySet<string> existing, DateTimeOffset now) =>
        new(vaulted.Credential, leased.Scopes, leased.PendingProgress ?? new Dictionary<string, string>(), leased.NextRefreshAt ?? now) { ExistingAccountIds = existing };

    internal static AccountLink Released(AccountLink leased) => leased with { LeaseOwner = null, LeaseUntil = null };

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "A pending {ProviderId} key ends: the only run that could renew its pair could not ({Renewal}), and the next run would find the refresh token expired")]
    private static partial void LogRenewalGaveUp(ILogger logger, string providerId, RefreshOutcome renewal);

    [LoggerMessage(Level = LogLevel.Information, Message = "A pending {ProviderId} key waits for the vault to show the credential version its row names")]
    private static partial void LogVersionNotVisible(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pending key at {ProviderId} is ready; the link is {Status}")]
    private static partial void LogKeyReady(ILogger logger, string providerId, LinkStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending key at {ProviderId} linked, but its pending row could not be removed ({ExceptionType}); the next run removes it")]
    private static partial void LogRemoveFailed(ILogger logger, string providerId, string exceptionType);
}
