using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Refresh;

/// <summary>
/// Refreshes one link so that a rotating refresh token is never spent twice, and never spent when its result cannot
/// be stored:
/// <list type="number">
/// <item>single-flight per link inside this instance;</item>
/// <item>a lease on the link row taken by ETag compare-and-swap, on the storage service's clock (<see cref="ILeaseClock"/>);</item>
/// <item>the refresh token read from the vault only after the lease is held, from exactly the version the row names
/// (<see cref="AccountLink.CredentialVersion"/>), never "the latest", which a late write or a lagging read can make older;</item>
/// <item>no spend while the vault does not take writes (<see cref="VaultWriteGate"/>), or without a vault-write slot;</item>
/// <item>right before the spend the lease is renewed for everything the spend can take (<see cref="LeaseBudget"/>) and
/// the version being spent is recorded on the row (<see cref="AccountLink.SpendingVersion"/>), so an outcome that never
/// comes back (timeout after sending, crash, lost answer) is known to be unknown and the token is never sent again;</item>
/// <item>the new credential vaulted before anything else, naming the version it was refreshed from, then the link
/// updated with the lease's ETag to name the new version.</item>
/// </list>
/// The windows that remain are in docs/link-states.md.
/// </summary>
public sealed partial class LinkRefresher(
    IAccountLinkStore links,
    ICredentialVault vault,
    ProviderCatalog providers,
    RefreshPolicy policy,
    RefreshRecorder recorder,
    ProviderBreaker breaker,
    VaultWriteGate gate,
    VaultWritePacer pacer,
    LinkLeases leases,
    PendingKeyContinuation pendingKeys,
    PendingRenewalHorizon renewalHorizon,
    PendingSpendInDoubt pendingSpends,
    IVaultWriteBudget vaultBudget,
    IOptions<RefreshOptions> options,
    TimeProvider time,
    ILogger<LinkRefresher> logger)
{
    /// <summary>What <see cref="AccountLink.LastFailure"/> says while a spend's outcome is unknown.</summary>
    public const string OutcomeUnknownCode = "refresh_outcome_unknown";

    /// <summary>An entry younger than this that the link does not point at may be one a writer is about to point it at.</summary>
    private static readonly TimeSpan StaleEntryGrace = TimeSpan.FromMinutes(10);

    private readonly string _instance = "refresh-" + Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, Task<RefreshOutcome>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>What the caller wants: the sweep's due check, an on-demand read's expiry check, or a forced refresh.</summary>
    public enum Mode
    {
        Due,
        IfExpiring,
        Force,
    }

    private LeaseBudget Budget => options.Value.BudgetWith(vaultBudget.WorstCaseWrite);

    /// <summary>The sweep's entry point: refreshes the link the entry names if the entry is current and due.</summary>
    public async Task<RefreshOutcome> RefreshDueAsync(DueEntry entry, CT ct)
    {
        var link = await links.GetAsync(entry.UserId, entry.ProviderId, entry.AccountId, ct);
        if (link is null)
        {
            await recorder.RemoveEntryAsync(entry.Key, ct);
            return RefreshOutcome.Gone;
        }

        if (link.DueKey != entry.Key)
        {
            // Writers add the new entry before the row that points at it: a young entry may be one the row is about to
            // name, and removing it would leave that link out of the index for good. Its age is the storage service's.
            if (entry.WrittenAt is { } written && leases.Now - written < StaleEntryGrace)
            {
                return RefreshOutcome.Skipped;
            }

            await recorder.RemoveEntryAsync(entry.Key, ct);
            return RefreshOutcome.Gone;
        }

        // A link waiting for its provider (WhiteBIT's key) is continued, not refreshed: same index, same lease rule.
        return link.Status == LinkStatus.PendingKey
            ? await ContinuePendingAsync(link, ct)
            : await RefreshAsync(entry.UserId, entry.ProviderId, entry.AccountId, Mode.Due, ct);
    }

    /// <summary>
    /// Moves the entry of a link whose refresh threw (a poison document, an unexpected answer) back by the retry
    /// backoff, so it is neither retried in a loop nor left at the head of the index. Best effort.
    /// </summary>
    public async Task DeferAfterErrorAsync(DueEntry entry, string code, CT ct)
    {
        var link = await links.GetAsync(entry.UserId, entry.ProviderId, entry.AccountId, ct);
        if (link is null || link.DueKey != entry.Key || leases.HeldByOther(link, _instance))
        {
            return;
        }

        var now = time.GetUtcNow();
        await recorder.ParkAsync(link, code, policy.RetryAt(link, now, policy.RetryDelay(link.RefreshFailures + 1, null)), ct, countsAsFailure: true);
    }

    /// <summary>Refreshes one link; concurrent calls for the same link in this instance share one attempt.</summary>
    public Task<RefreshOutcome> RefreshAsync(string userId, string providerId, string accountId, Mode mode, CT ct) =>
        SingleFlightAsync(AccountLink.KeyOf(userId, providerId, accountId), () => RefreshOnceAsync(userId, providerId, accountId, mode, CT.None), ct);

    /// <summary>One attempt per link at a time in this instance (a refresh or a pending link's renewal): later callers share it.</summary>
    private Task<RefreshOutcome> SingleFlightAsync(string key, Func<Task<RefreshOutcome>> once, CT ct)
    {
        var attempt = new TaskCompletionSource<RefreshOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = _inFlight.GetOrAdd(key, attempt.Task);
        if (running != attempt.Task)
        {
            return running.WaitAsync(ct);
        }

        _ = RunAsync();
        return attempt.Task.WaitAsync(ct);

        async Task RunAsync()
        {
            try
            {
                // Note: not the caller's token; one caller giving up must not abandon a refresh others wait on. Every
                // step is bounded by its own budget instead.
                attempt.SetResult(await once());
            }
            catch (Exception ex)
            {
                attempt.SetException(ex);
            }
            finally
            {
                _inFlight.TryRemove(new KeyValuePair<string, Task<RefreshOutcome>>(key, attempt.Task));
            }
        }
    }

    private async Task<RefreshOutcome> RefreshOnceAsync(string userId, string providerId, string accountId, Mode mode, CT ct)
    {
        var link = await links.GetAsync(userId, providerId, accountId, ct);
        if (link is null || link.Status == LinkStatus.Unlinking)
        {
            return RefreshOutcome.Gone;
        }

        if (link.Status == LinkStatus.PendingKey && mode == Mode.Force)
        {
            // An unlink renewing first so the flow's key can still be deleted: the pending renewal, of the version read.
            return await RenewPendingAsync(link);
        }

        if (link.Status != LinkStatus.Active)
        {
            return link.Status == LinkStatus.Expired ? RefreshOutcome.Expired : RefreshOutcome.ReauthRequired;
        }

        // Before anything writes the row: a link another instance holds is theirs, even to park (a write under their
        // lease would make their own next write fail, and leave their spend looking unfinished).
        if (leases.HeldByOther(link, _instance))
        {
            return RefreshOutcome.Busy;
        }

        var now = time.GetUtcNow();
        var provider = providers.Find(providerId);
        if (provider is null)
        {
            // Disabled or removed: nothing can be done until it is back. The sweep moves the entry on, so the entries of
            // a retired provider never stand in front of the others.
            if (mode == Mode.Due)
            {
                await recorder.ParkAsync(link, "provider_unavailable", now + options.Value.KeepAliveInterval, ct);
            }

            return RefreshOutcome.ProviderUnavailable;
        }

        if (!link.HasRefreshToken)
        {
            return await TrackExpiryAsync(link, now, ct);
        }

        if (NotNeeded(link, mode, now) is { } idle)
        {
            return idle;
        }

        if (breaker.OpenUntil(providerId) is { } openUntil)
        {
            if (mode == Mode.Due)
            {
                await recorder.ParkAsync(link, link.LastFailure ?? "provider_breaker_open", openUntil, ct);
            }

            return RefreshOutcome.ProviderMisconfigured;
        }

        return await LeaseAndRefreshAsync(link, provider, ct);
    }

    /// <summary>Takes the link's lease by compare-and-swap and refreshes under it; Busy when someone changed it first.</summary>
    private async Task<RefreshOutcome> LeaseAndRefreshAsync(AccountLink link, IOAuthProvider provider, CT ct)
    {
        var held = new Held { LeaseStarted = time.GetTimestamp() };
        try
        {
            held.Row = await links.ReplaceAsync(leases.WithLease(link, _instance), ct);
        }
        catch (LinkConcurrencyException)
        {
            // Someone changed the link between our read and our lease: they are refreshing, or just did.
            return RefreshOutcome.Busy;
        }

        try
        {
            return await RefreshLeasedAsync(held, provider, ct);
        }
        catch
        {
            if (!held.Done)
            {
                // The spend marker stays: if the token was sent, its outcome is unknown.
                await leases.ReleaseQuietlyAsync(held.Row);
            }

            throw;
        }
    }

    /// <summary>Null when the link needs this attempt; otherwise why not.</summary>
    private RefreshOutcome? NotNeeded(AccountLink link, Mode mode, DateTimeOffset now)
    {
        if (link.SpendInDoubt)
        {
            // Looked at when due (to end it when the access token expires, or find the result was stored after all) or
            // when forced; a read is served the access token it has.
            var look = mode switch
            {
                Mode.Due => link.NextRefreshAt is { } due && due <= now,
                Mode.IfExpiring => link.LastFailure != OutcomeUnknownCode && policy.IsExpiring(link, now),
                _ => true,
            };
            return look ? null : RefreshOutcome.OutcomeUnknown;
        }

        if (mode != Mode.Due && RefreshPolicy.InBackoff(link, now))
        {
            return RefreshOutcome.BackingOff;
        }

        var needed = mode switch
        {
            Mode.Due => link.NextRefreshAt is { } due && due <= now,
            Mode.IfExpiring => policy.IsExpiring(link, now),
            _ => true,
        };
        return needed ? null : RefreshOutcome.NotNeeded;
    }

    private async Task<RefreshOutcome> RefreshLeasedAsync(Held held, IOAuthProvider provider, CT ct)
    {
        var (vaulted, stop) = await ReadSpendableAsync(held, ct);
        if (stop is { } stopped)
        {
            return stopped;
        }

        if (JsonSerializer.SerializeToUtf8Bytes(vaulted!, CoreJsonContext.Default.VaultedCredential).Length > options.Value.MaxCredentialBytes)
        {
            // The new tokens would not fit in a secret (Key Vault: 25 KB): spending would lose them.
            LogTooLarge(logger, held.Row.ProviderId);
            held.Done = true;
            return await recorder.HoldAsync(held.Row, "credential_too_large", RefreshOutcome.CredentialTooLarge, ct);
        }

        var check = await gate.CheckAsync(ct);
        if (!check.MaySpend)
        {
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return RefreshOutcome.VaultWritesBlocked;
        }

        if (!await pacer.TryReserveAsync(options.Value.PacingMaxWait, ct))
        {
            held.Done = true;
            await recorder.RescheduleAsync(held.Row, "vault_write_pacing", time.GetUtcNow() + options.Value.RetryInitialDelay, countsAsFailure: false, ct);
            return RefreshOutcome.Deferred;
        }

        var document = vaulted! with
        {
            Link = links.ReferenceOf(held.Row.UserId, held.Row.ProviderId, held.Row.AccountId),
            GrantId = held.Row.GrantId ?? vaulted.GrantId ?? CredentialNames.GrantIdOfUntagged(held.Row.CredentialName),
        };
        var previousName = held.Row.CredentialName;
        var name = previousName;
        var version = document.Version!;
        var versions = held.Row.CredentialVersions;
        // Room for the proof or copy and for the result; past the limit the credential moves to a fresh name.
        var rollover = versions + 2 > options.Value.MaxCredentialVersions;
        if (rollover || check.NeedsProof)
        {
            var target = rollover ? CredentialNames.New() : name;
            var (written, refused) = await ProveWritableAsync(held, target, document, ct);
            if (refused is { } blocked)
            {
                return blocked;
            }

            (name, version, versions) = rollover ? (target, written!, 1) : (name, written!, versions + 1);
        }

        if (await StartSpendAsync(held, document with { Version = version }, name, versions, ct) is { } lost)
        {
            return lost;
        }

        try
        {
            return await SpendAndRecordAsync(held, provider, document with { Version = version }, reconcile: true, ct);
        }
        finally
        {
            if (name != previousName)
            {
                // Only now: the row names the fresh secret, and nothing of the spend waits on the old one's deletion
                // (delete, then purge: several vault calls the lease does not budget for).
                LogRolledOver(logger, held.Row.ProviderId);
                await DeleteQuietlyAsync(previousName);
            }
        }
    }

    /// <summary>Links without a refresh token are followed to their expiry and then marked expired, not "refreshed".</summary>
    private async Task<RefreshOutcome> TrackExpiryAsync(AccountLink link, DateTimeOffset now, CT ct)
    {
        if (link.AccessTokenExpiresAt is not { } expires || expires > now)
        {
            return RefreshOutcome.NotNeeded;
        }

        try
        {
            await recorder.ReplaceWithScheduleAsync(link, (link with { Status = LinkStatus.Expired, NextRefreshAt = null, UpdatedAt = now, LastFailure = "access_token_expired" }).AnnouncingStatus(now), ct);
        }
        catch (LinkConcurrencyException)
        {
            return RefreshOutcome.Busy;
        }

        return RefreshOutcome.Expired;
    }

    private async Task DeleteQuietlyAsync(string name)
    {
        try
        {
            await vault.DeleteAsync(name, CT.None);
        }
        catch (Exception ex) when (ex is VaultUnavailableException or OperationCanceledException)
        {
            // The janitor finds secrets no link points at (same grant: it only deletes them).
        }
    }

    private static async Task RevokeQuietlyAsync(IOAuthProvider provider, ProviderCredential credential)
    {
        try
        {
            await provider.RevokeAsync(credential, CT.None);
        }
        catch (OperationCanceledException)
        {
            // Best effort.
        }
    }

    /// <summary>The row this attempt holds (with its latest ETag), and when its current lease began (monotonic).</summary>
    private sealed class Held
    {
        public AccountLink Row { get; set; } = null!;
        public long LeaseStarted { get; set; }
        /// <summary>The row's final state is written (or deliberately left): nothing to release.</summary>
        public bool Done { get; set; }

        /// <summary>What is left of the lease for starting work, after the clock allowance.</summary>
        public TimeSpan Remaining(TimeProvider time, RefreshOptions options) =>
            options.LeaseDuration - options.ClockAllowance - time.GetElapsedTime(LeaseStarted);
    }

    /// <param name="Result">What the provider call came back with.</param>
    /// <param name="SentAt">When the spend began (expiries are counted from here).</param>
    /// <param name="MayHaveReachedProvider">False when no request of the spend got as far as writing its body: nothing was spent, whatever failed.</param>
    private sealed record Answer(ProviderResult<ProviderCredential> Result, DateTimeOffset SentAt, bool MayHaveReachedProvider);
}
