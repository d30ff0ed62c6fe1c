using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Refresh;

/// <summary>Storing a spend's result: the vault within the lease, then the row.</summary>
public sealed partial class LinkRefresher
{
    /// <summary>Vault first (within the lease), then the index entry, then the link (with the lease's ETag), then the old entry away.</summary>
    private async Task<RefreshOutcome> StoreAsync(Held held, IOAuthProvider provider, VaultedCredential spent, ProviderCredential refreshed, DateTimeOffset sentAt, CT ct)
    {
        var current = spent.Credential;
        var rotated = refreshed.RefreshToken is not null;
        // Dialects count expires_in from when they read the answer; the provider counted from when it got the request.
        var transit = time.GetUtcNow() - sentAt;
        var merged = refreshed with
        {
            // No refresh token in the answer means the old one stays valid (RFC 6749 §6): keep it.
            RefreshToken = refreshed.RefreshToken ?? current.RefreshToken,
            RefreshTokenExpiresAt = rotated ? refreshed.RefreshTokenExpiresAt - transit : current.RefreshTokenExpiresAt,
            AccessTokenExpiresAt = refreshed.AccessTokenExpiresAt - transit,
            ApiKey = current.ApiKey,
            ApiSecret = current.ApiSecret,
            Metadata = current.Metadata,
        };

        var storedAt = time.GetUtcNow();
        var document = spent with { Credential = merged, StoredAt = storedAt };
        if (await WriteResultAsync(held, provider, document, ct) is { } failed)
        {
            return failed;
        }

        var now = time.GetUtcNow();
        var updated = held.Row with
        {
            CredentialStoredAt = storedAt,
            CredentialVersions = held.Row.CredentialVersions + 1,
            AccessTokenExpiresAt = merged.AccessTokenExpiresAt,
            RefreshTokenExpiresAt = merged.RefreshTokenExpiresAt,
            LastRefreshAt = now,
            UpdatedAt = now,
            RefreshFailures = 0,
            LastFailure = null,
            LeaseOwner = null,
            LeaseUntil = null,
            SpendingVersion = null,
            SpendStartedAt = null,
        };
        // An expiry the refresh could not move (an absolute session limit, or no new refresh token) is no reason to
        // refresh again: it would be due at once, every time.
        var movable = merged.RefreshTokenExpiresAt is not { } after || current.RefreshTokenExpiresAt is not { } before
            || after > before + options.Value.MinRefreshInterval;
        held.Done = true;
        try
        {
            await recorder.ReplaceWithScheduleAsync(held.Row, updated with { NextRefreshAt = policy.NextDue(updated, now, movable) }, ct);
        }
        catch (LinkConcurrencyException)
        {
            var row = await links.GetAsync(held.Row.UserId, held.Row.ProviderId, held.Row.AccountId, ct);
            if (row?.CredentialStoredAt != storedAt)
            {
                // The credential is vaulted (the next refresher reads it), but the lease was lost before the row could say so.
                LogLeaseLost(logger, held.Row.ProviderId, "after the vault write; the new credential is vaulted, the row is behind");
                return RefreshOutcome.LeaseLost;
            }

            // The write committed and its answer was lost; the retry saw its own change.
        }

        await breaker.ConfirmAsync(held.Row.ProviderId, CT.None);
        LogRefreshed(logger, held.Row.ProviderId, rotated);
        return RefreshOutcome.Refreshed;
    }

    /// <summary>Writes the spend's result within what is left of the lease. Null when stored; otherwise what happened to the link.</summary>
    private async Task<RefreshOutcome?> WriteResultAsync(Held held, IOAuthProvider provider, VaultedCredential document, CT ct)
    {
        var left = held.Remaining(time, options.Value);
        using var deadline = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), time);
        try
        {
            await vault.WriteAsync(held.Row.CredentialName, document, deadline.Token);
            await gate.SucceededAsync(ct);
            return null;
        }
        catch (VaultUnavailableException ex) when (ex.Failure.AffectsWholeVault())
        {
            await gate.TripAsync(ex.Failure, CT.None);
            LogResultLost(logger, held.Row.ProviderId, ex.Failure.ToString());
            held.Done = true;
            return await recorder.HoldAsync(held.Row, "refresh_result_unstored", RefreshOutcome.ResultLost, ct);
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.NameDeleted)
        {
            // Unlinked under a lapsed lease: the new tokens have nowhere to go, so they are revoked rather than left live.
            LogResultLost(logger, held.Row.ProviderId, ex.Failure.ToString());
            await RevokeQuietlyAsync(provider, document.Credential);
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return RefreshOutcome.Gone;
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.TooLarge)
        {
            LogResultLost(logger, held.Row.ProviderId, ex.Failure.ToString());
            held.Done = true;
            return await recorder.HoldAsync(held.Row, "credential_too_large", RefreshOutcome.ResultLost, ct);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // Whether the write landed is unknown; the next refresher finds out from the vault (SpendingVersion).
            LogOutcomeUnknown(logger, held.Row.ProviderId, "vault write past the lease budget");
            held.Done = true;
            return await recorder.HoldAsync(held.Row, OutcomeUnknownCode, RefreshOutcome.OutcomeUnknown, ct);
        }
    }
}
