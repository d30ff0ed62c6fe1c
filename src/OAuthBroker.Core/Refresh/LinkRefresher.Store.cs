using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Refresh;

/// <summary>Storing a spend's result: the vault first, then the row.</summary>
public sealed partial class LinkRefresher
{
    /// <summary>
    /// Vault first, then the index entry, then the link (with the lease's ETag, naming the new version), then the old
    /// entry away. The result names the version it was refreshed from, so whoever finds this spend's outcome unknown can
    /// tell this result from anything else in the vault.
    /// </summary>
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
        var document = spent with { Credential = merged, StoredAt = storedAt, RefreshedFrom = spent.Version, Version = null };
        var (version, failed) = await WriteResultAsync(held, provider, document, ct);
        if (failed is { } outcome)
        {
            return outcome;
        }

        // An expiry the refresh could not move (an absolute session limit, or no new refresh token) is no reason to
        // refresh again: it would be due at once, every time.
        var movable = merged.RefreshTokenExpiresAt is not { } after || current.RefreshTokenExpiresAt is not { } before
            || after > before + options.Value.MinRefreshInterval;
        var result = new StoredResult(version!, storedAt, merged, movable);
        held.Done = true;
        try
        {
            await RecordStoredAsync(held.Row, result, ct);
        }
        catch (LinkConcurrencyException)
        {
            if (await RecordStoredOverChangedRowAsync(held, result, ct) is { } lost)
            {
                return lost;
            }
        }

        await breaker.ConfirmAsync(held.Row.ProviderId, CT.None);
        LogRefreshed(logger, held.Row.ProviderId, rotated);
        return RefreshOutcome.Refreshed;
    }

    /// <summary>The row after a stored refresh: the new version named, failures and marker cleared, the lease given back.</summary>
    private Task<AccountLink> RecordStoredAsync(AccountLink row, StoredResult result, CT ct)
    {
        var now = time.GetUtcNow();
        var updated = row with
        {
            CredentialVersion = result.Version,
            CredentialStoredAt = result.StoredAt,
            CredentialVersions = row.CredentialVersions + 1,
            AccessTokenExpiresAt = result.Credential.AccessTokenExpiresAt,
            RefreshTokenExpiresAt = result.Credential.RefreshTokenExpiresAt,
            LastRefreshAt = now,
            UpdatedAt = now,
            RefreshFailures = 0,
            LastFailure = null,
            LeaseOwner = null,
            LeaseUntil = null,
            SpendingVersion = null,
            SpendStartedAt = null,
        };
        // A pending link (renewed while it waits for its provider) is continued at once, not at the next refresh.
        var next = row.Status == LinkStatus.PendingKey ? now : policy.NextDue(updated, now, result.RefreshTokenExpiryMovable);
        return recorder.ReplaceWithScheduleAsync(row, updated with { NextRefreshAt = next }, ct);
    }

    /// <summary>
    /// The row changed between the lease and the final write. If it still records this spend (the marker is ours: nobody
    /// has spent since, and whoever changed it does not hold it now), the result is recorded over the changed row.
    /// Otherwise the lease was lost: the result is in the vault, named as this spend's, for the next refresher.
    /// </summary>
    private async Task<RefreshOutcome?> RecordStoredOverChangedRowAsync(Held held, StoredResult result, CT ct)
    {
        var row = await links.GetAsync(held.Row.UserId, held.Row.ProviderId, held.Row.AccountId, ct);
        if (row?.CredentialVersion == result.Version)
        {
            // The write committed and its answer was lost; the retry saw its own change.
            return null;
        }

        if (row is { Status: LinkStatus.Active or LinkStatus.PendingKey } && row.Status == held.Row.Status && row.SpendingVersion == held.Row.SpendingVersion && row.CredentialName == held.Row.CredentialName
            && !leases.HeldByOther(row, _instance))
        {
            try
            {
                await RecordStoredAsync(row, result, ct);
                return null;
            }
            catch (LinkConcurrencyException)
            {
                // Changed once more: the next refresher finds the result in the vault.
            }
        }

        LogLeaseLost(logger, held.Row.ProviderId, "after the vault write; the new credential is vaulted as this spend's result, the row is behind");
        return RefreshOutcome.LeaseLost;
    }

    /// <summary>
    /// Writes the spend's result. Not cut off at the lease's end: the tokens exist nowhere else, and a late write is
    /// safe (the marker keeps everyone else from spending the token sent, and the result is found by the version it names).
    /// The vault client's own limits bound it. The new version's id, or what happened to the link.
    /// </summary>
    private async Task<(string? Version, RefreshOutcome? Stop)> WriteResultAsync(Held held, IOAuthProvider provider, VaultedCredential document, CT ct)
    {
        string version;
        try
        {
            version = await vault.WriteAsync(held.Row.CredentialName, document, ct);
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.NameDeleted)
        {
            // Unlinked under a lapsed lease: the new tokens have nowhere to go, so they are revoked rather than left live.
            LogResultLost(logger, held.Row.ProviderId, ex.Failure.ToString());
            await RevokeQuietlyAsync(provider, document.Credential);
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return (null, RefreshOutcome.Gone);
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.TooLarge)
        {
            LogResultLost(logger, held.Row.ProviderId, ex.Failure.ToString());
            held.Done = true;
            return (null, await recorder.HoldAsync(held.Row, "credential_too_large", RefreshOutcome.ResultLost, ct));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Any other failure: the vault refused (403, 429, 5xx), did not answer in time, or answered something the
            // client cannot sort (401, another 4xx). Its writes cannot be trusted: nobody spends until one works.
            var failure = (ex as VaultUnavailableException)?.Failure ?? VaultFailure.Unavailable;
            await gate.TripAsync(failure, CT.None);
            LogResultLost(logger, held.Row.ProviderId, ex is VaultUnavailableException ? failure.ToString() : ex.GetType().Name);
            held.Done = true;
            return (null, await recorder.HoldAsync(held.Row, "refresh_result_unstored", RefreshOutcome.ResultLost, ct));
        }

        await gate.SucceededAsync(ct);
        return (version, null);
    }

    /// <param name="Version">The vault version written.</param>
    /// <param name="StoredAt">When (this instance's clock) it was written.</param>
    /// <param name="Credential">What it holds.</param>
    /// <param name="RefreshTokenExpiryMovable">False when the refresh could not move the refresh token's expiry.</param>
    private sealed record StoredResult(string Version, DateTimeOffset StoredAt, ProviderCredential Credential, bool RefreshTokenExpiryMovable);
}
