using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Refresh;

/// <summary>
/// Refreshes one link so that a rotating refresh token is never spent twice:
/// <list type="number">
/// <item>single-flight per link inside this instance;</item>
/// <item>a lease on the link row taken by ETag compare-and-swap, across instances; whoever loses re-reads;</item>
/// <item>the refresh token read from the vault only after the lease is held;</item>
/// <item>the new credential vaulted before anything else, then the link updated with the lease's ETag;</item>
/// <item>invalid_grant reconciled once against the newest vaulted token before the link is declared dead.</item>
/// </list>
/// The crash window that remains: between the provider's answer and the vault write. See docs/link-states.md.
/// </summary>
public sealed partial class LinkRefresher(
    IAccountLinkStore links,
    ICredentialVault vault,
    IRefreshSchedule schedule,
    ProviderCatalog providers,
    RefreshPolicy policy,
    ProviderBreaker breaker,
    VaultWritePacer pacer,
    IOptions<RefreshOptions> options,
    TimeProvider time,
    ILogger<LinkRefresher> logger)
{
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, Task<RefreshOutcome>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>What the caller wants: the sweep's due check, an on-demand read's expiry check, or a forced refresh.</summary>
    public enum Mode
    {
        Due,
        IfExpiring,
        Force,
    }

    /// <summary>The sweep's entry point: refreshes the link the entry names if the entry is current and due.</summary>
    public async Task<RefreshOutcome> RefreshDueAsync(DueEntry entry, CT ct)
    {
        var link = await links.GetAsync(entry.UserId, entry.ProviderId, entry.AccountId, ct);
        if (link is null || link.DueKey != entry.Key)
        {
            // Stale entry: the link was deleted, or rescheduled under another entry (written before the link row).
            await schedule.RemoveAsync(entry.Key, ct);
            return RefreshOutcome.Gone;
        }

        return await RefreshAsync(entry.UserId, entry.ProviderId, entry.AccountId, Mode.Due, ct);
    }

    /// <summary>Refreshes one link; concurrent calls for the same link in this instance share one attempt.</summary>
    public Task<RefreshOutcome> RefreshAsync(string userId, string providerId, string accountId, Mode mode, CT ct)
    {
        var key = AccountLink.KeyOf(userId, providerId, accountId);
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
                // Note: not the caller's token; one caller giving up must not abandon a refresh others wait on,
                // and a refresh stopped halfway is exactly the crash window this class keeps small.
                attempt.SetResult(await RefreshOnceAsync(userId, providerId, accountId, mode, CT.None));
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
        var provider = providers.Find(providerId);
        if (link is null || provider is null)
        {
            return RefreshOutcome.Gone;
        }

        var now = time.GetUtcNow();
        if (link.Status == LinkStatus.ReauthRequired)
        {
            return RefreshOutcome.ReauthRequired;
        }

        if (link.Status == LinkStatus.Expired)
        {
            return RefreshOutcome.Expired;
        }

        if (!link.HasRefreshToken)
        {
            return await TrackExpiryAsync(link, now, ct);
        }

        var needed = mode switch
        {
            Mode.Due => link.NextRefreshAt is { } due && due <= now,
            Mode.IfExpiring => policy.IsExpiring(link, now),
            _ => true,
        };
        if (!needed)
        {
            return RefreshOutcome.NotNeeded;
        }

        if (breaker.IsOpen(providerId))
        {
            return RefreshOutcome.ProviderMisconfigured;
        }

        if (link.IsLeased(now) && link.LeaseOwner != _instance)
        {
            return RefreshOutcome.Busy;
        }

        AccountLink leased;
        try
        {
            leased = await links.ReplaceAsync(link with { LeaseOwner = _instance, LeaseUntil = now + options.Value.LeaseDuration }, ct);
        }
        catch (LinkConcurrencyException)
        {
            // Someone changed the link between our read and our lease: they are refreshing, or just did.
            return RefreshOutcome.Busy;
        }

        try
        {
            return await RefreshLeasedAsync(leased, provider, ct);
        }
        catch
        {
            await ReleaseQuietlyAsync(leased);
            throw;
        }
    }

    private async Task<RefreshOutcome> RefreshLeasedAsync(AccountLink leased, IOAuthProvider provider, CT ct)
    {
        var vaulted = await vault.ReadAsync(leased.CredentialName, ct);
        if (vaulted?.Credential.RefreshToken is null)
        {
            LogCredentialMissing(logger, leased.ProviderId, CredentialNames.LogTag(leased.CredentialName));
            return await FinishAsync(leased, LinkStatus.ReauthRequired, "credential_missing", RefreshOutcome.ReauthRequired, ct);
        }

        var current = vaulted.Credential;
        var result = await provider.RefreshAsync(current, ct);
        if (result.Failure?.Kind == ProviderFailureKind.InvalidGrant)
        {
            // Reconciliation: if a newer refresh token is in the vault (a refresher whose lease lapsed finished after
            // we read), spend that one instead before declaring the grant dead.
            var newest = await vault.ReadAsync(leased.CredentialName, ct);
            if (newest?.Credential.RefreshToken is { } newer && newer != current.RefreshToken)
            {
                current = newest.Credential;
                result = await provider.RefreshAsync(current, ct);
            }
        }

        if (result.Succeeded)
        {
            return await StoreAsync(leased, current, result.Value, ct);
        }

        var failure = result.Failure;
        switch (failure.Kind)
        {
            case ProviderFailureKind.InvalidGrant:
                LogReauthRequired(logger, leased.ProviderId, failure.ProviderCode);
                return await FinishAsync(leased, LinkStatus.ReauthRequired, failure.ProviderCode, RefreshOutcome.ReauthRequired, ct);
            case ProviderFailureKind.InvalidClient:
                if (breaker.Trip(leased.ProviderId, options.Value.BreakerDuration))
                {
                    LogBreakerOpened(logger, leased.ProviderId, failure.ProviderCode, options.Value.BreakerDuration);
                }

                return await RescheduleAsync(leased, failure.ProviderCode, options.Value.BreakerDuration, countsAsFailure: false, RefreshOutcome.ProviderMisconfigured, ct);
            default:
                var failures = leased.RefreshFailures + 1;
                var delay = policy.RetryDelay(failures, failure.RetryAfter);
                LogRetrying(logger, leased.ProviderId, failure.Kind, failure.ProviderCode, failures, delay);
                return await RescheduleAsync(leased, failure.ProviderCode, delay, countsAsFailure: true, RefreshOutcome.Retrying, ct);
        }
    }

    /// <summary>Vault first, then the index entry, then the link (with the lease's ETag), then the old entry away.</summary>
    private async Task<RefreshOutcome> StoreAsync(AccountLink leased, ProviderCredential current, ProviderCredential refreshed, CT ct)
    {
        var rotated = refreshed.RefreshToken is not null;
        var merged = refreshed with
        {
            // No refresh token in the answer means the old one stays valid (RFC 6749 §6): keep it.
            RefreshToken = refreshed.RefreshToken ?? current.RefreshToken,
            RefreshTokenExpiresAt = rotated ? refreshed.RefreshTokenExpiresAt : current.RefreshTokenExpiresAt,
            ApiKey = current.ApiKey,
            ApiSecret = current.ApiSecret,
            Metadata = current.Metadata,
        };

        await pacer.WaitAsync(ct);
        var storedAt = time.GetUtcNow();
        await vault.WriteAsync(leased.CredentialName, new VaultedCredential(leased.ProviderId, merged, storedAt), ct);

        var now = time.GetUtcNow();
        var updated = leased with
        {
            CredentialStoredAt = storedAt,
            AccessTokenExpiresAt = merged.AccessTokenExpiresAt,
            RefreshTokenExpiresAt = merged.RefreshTokenExpiresAt,
            LastRefreshAt = now,
            UpdatedAt = now,
            RefreshFailures = 0,
            LastFailure = null,
            LeaseOwner = null,
            LeaseUntil = null,
        };
        await ReplaceWithScheduleAsync(leased, updated with { NextRefreshAt = policy.NextDue(updated, now) }, ct);
        LogRefreshed(logger, leased.ProviderId, rotated);
        return RefreshOutcome.Refreshed;
    }

    private async Task<RefreshOutcome> FinishAsync(AccountLink leased, LinkStatus status, string code, RefreshOutcome outcome, CT ct)
    {
        await ReplaceWithScheduleAsync(leased, leased with
        {
            Status = status,
            LastFailure = code,
            LeaseOwner = null,
            LeaseUntil = null,
            NextRefreshAt = null,
            UpdatedAt = time.GetUtcNow(),
        }, ct);
        return outcome;
    }

    private async Task<RefreshOutcome> RescheduleAsync(AccountLink leased, string code, TimeSpan delay, bool countsAsFailure, RefreshOutcome outcome, CT ct)
    {
        await ReplaceWithScheduleAsync(leased, leased with
        {
            RefreshFailures = countsAsFailure ? leased.RefreshFailures + 1 : leased.RefreshFailures,
            LastFailure = code,
            LeaseOwner = null,
            LeaseUntil = null,
            NextRefreshAt = time.GetUtcNow() + delay,
        }, ct);
        return outcome;
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
            await ReplaceWithScheduleAsync(link, link with { Status = LinkStatus.Expired, NextRefreshAt = null, UpdatedAt = now, LastFailure = "access_token_expired" }, ct);
        }
        catch (LinkConcurrencyException)
        {
            return RefreshOutcome.Busy;
        }

        return RefreshOutcome.Expired;
    }

    /// <summary>Writes the link; keeps its due-index entry in step (new entry before the row, old one removed after).</summary>
    private async Task ReplaceWithScheduleAsync(AccountLink before, AccountLink after, CT ct)
    {
        string? newKey = null;
        if (after.NextRefreshAt is { } due)
        {
            newKey = await schedule.AddAsync(after, due, ct);
        }

        await links.ReplaceAsync(after with { DueKey = newKey }, ct);
        if (before.DueKey is { } oldKey)
        {
            await schedule.RemoveAsync(oldKey, ct);
        }
    }

    private async Task ReleaseQuietlyAsync(AccountLink leased)
    {
        try
        {
            await links.ReplaceAsync(leased with { LeaseOwner = null, LeaseUntil = null }, CT.None);
        }
        catch (Exception ex) when (ex is LinkConcurrencyException or Errors.StorageUnavailableException)
        {
            // The lease simply expires.
        }
    }

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
}
