using OAuthBroker.Credentials;

namespace OAuthBroker.Refresh;

/// <summary>Which vaulted credential, if any, the lease holder may spend.</summary>
public sealed partial class LinkRefresher
{
    /// <summary>
    /// The credential the holder may spend, or what happened to the link instead:
    /// <list type="bullet">
    /// <item>normally exactly the version the row names. "The latest" is not used: a write the vault committed late (a
    /// retried attempt of an older document) or a read that lags the newest write (Key Vault throttling guidance: vaults
    /// allow-listed for higher throughput show a write "within 60 seconds") would hand out a superseded refresh token;</item>
    /// <item>while an earlier spend's outcome is unknown, only that spend's own result (a version whose
    /// <see cref="VaultedCredential.RefreshedFrom"/> names the version spent): the result was stored after all. Anything
    /// else, older or newer, is never spent: the token sent may be rotated. A pending link waits while that holder's result
    /// may still land (<see cref="HoldEarlierSpendAsync"/>).</item>
    /// </list>
    /// </summary>
    private async Task<(VaultedCredential? Credential, RefreshOutcome? Stop)> ReadSpendableAsync(Held held, CT ct)
    {
        var row = held.Row;
        if (row.SpendingVersion is { } spent)
        {
            var latest = await vault.ReadAsync(row.CredentialName, ct);
            if (latest is null)
            {
                return (null, await CredentialMissingAsync(held, ct));
            }

            if (latest.RefreshedFrom == spent && latest.Version != spent && latest.Credential.RefreshToken is not null)
            {
                LogSpendResolved(logger, row.ProviderId);
                return (latest, null);
            }

            LogOutcomeUnknown(logger, row.ProviderId, "an earlier refresher stopped mid-spend and its result is not in the vault");
            return (null, await HoldEarlierSpendAsync(held, ct));
        }

        if (row.CredentialVersion is not { } version)
        {
            // A row from before versions were pinned: the latest version, but only the one the row describes.
            var latest = await vault.ReadAsync(row.CredentialName, ct);
            if (latest?.Credential.RefreshToken is null)
            {
                return (null, await CredentialMissingAsync(held, ct));
            }

            if (row.CredentialStoredAt is { } storedAt && latest.StoredAt != storedAt)
            {
                // A row from before versions were pinned whose version the vault does not show: retried with the backoff.
                return (null, await NotVisibleAsync(held, "credential_version_mismatch", countsAsFailure: true, ct));
            }

            return (latest, null);
        }

        var pinned = await vault.ReadVersionAsync(row.CredentialName, version, ct);
        if (pinned is null && await vault.ReadAsync(row.CredentialName, ct) is not null)
        {
            // The secret is there but not the version the row names: a read lagging the write. Nothing is spent.
            return (null, await NotVisibleAsync(held, "credential_version_not_visible", countsAsFailure: false, ct));
        }

        return pinned?.Credential.RefreshToken is null ? (null, await CredentialMissingAsync(held, ct)) : (pinned, null);
    }

    private async Task<RefreshOutcome> CredentialMissingAsync(Held held, CT ct)
    {
        LogCredentialMissing(logger, held.Row.ProviderId, CredentialNames.LogTag(held.Row.CredentialName));
        return await FinishRejectedAsync(held, "credential_missing", ct);
    }

    /// <summary>The vault does not show the version the row names: looked at again later, nothing spent.</summary>
    private async Task<RefreshOutcome> NotVisibleAsync(Held held, string code, bool countsAsFailure, CT ct)
    {
        LogVersionNotVisible(logger, held.Row.ProviderId, code);
        held.Done = true;
        var now = time.GetUtcNow();
        var delay = countsAsFailure ? policy.RetryDelay(held.Row.RefreshFailures + 1, null) : options.Value.RetryInitialDelay;
        await recorder.RescheduleAsync(held.Row, code, policy.RetryAt(held.Row, now, delay), countsAsFailure, ct);
        return RefreshOutcome.Deferred;
    }
}
