using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Refresh;

/// <summary>The spend: proving the vault writes, renewing the lease with the spend marker, the provider call, and what its answer means.</summary>
public sealed partial class LinkRefresher
{
    /// <summary>
    /// Rewrites the credential about to be spent (or copies it to a fresh name), within the lease: a spend only follows a
    /// write that worked. Returns the version written, or what happened to the link instead.
    /// </summary>
    private async Task<(string? Version, RefreshOutcome? Stop)> ProveWritableAsync(Held held, string target, VaultedCredential document, CT ct)
    {
        var left = held.Remaining(time, options.Value);
        using var deadline = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), time);
        string version;
        try
        {
            version = await vault.WriteAsync(target, document, deadline.Token);
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.NameDeleted)
        {
            // The secret was deleted under the link (an unlink that got that far): nothing to refresh.
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return (null, RefreshOutcome.Gone);
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.TooLarge)
        {
            LogTooLarge(logger, held.Row.ProviderId);
            held.Done = true;
            return (null, await recorder.HoldAsync(held.Row, "credential_too_large", RefreshOutcome.CredentialTooLarge, ct));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // Not written within the lease: no spend follows. Whether the write lands later does not matter, the row
            // keeps naming the version it names.
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return (null, RefreshOutcome.VaultWritesBlocked);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Every other failure (403, 429, 5xx, a vault that did not answer, an answer the client cannot sort) means
            // writes do not work: nobody spends until one does.
            await gate.TripAsync((ex as VaultUnavailableException)?.Failure ?? VaultFailure.Unavailable, CT.None);
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return (null, RefreshOutcome.VaultWritesBlocked);
        }

        await gate.SucceededAsync(ct);
        return (version, null);
    }

    /// <summary>
    /// Renews the lease for everything the spend can take and records the version being spent, in one
    /// compare-and-swap. Null when the spend may go ahead; <see cref="RefreshOutcome.LeaseLost"/> (nothing spent) when
    /// the row changed under us.
    /// </summary>
    private async Task<RefreshOutcome?> StartSpendAsync(Held held, VaultedCredential document, string name, int versions, CT ct)
    {
        var started = time.GetTimestamp();
        var intended = leases.WithLease(held.Row, _instance) with
        {
            CredentialName = name,
            CredentialVersion = document.Version,
            CredentialVersions = versions,
            GrantId = document.GrantId,
            SpendingVersion = document.Version,
            SpendStartedAt = leases.Now,
        };
        try
        {
            held.Row = await links.ReplaceAsync(intended, ct);
        }
        catch (LinkConcurrencyException)
        {
            var row = await links.GetAsync(held.Row.UserId, held.Row.ProviderId, held.Row.AccountId, ct);
            var ours = row is not null && row.SpendingVersion == intended.SpendingVersion && row.SpendStartedAt == intended.SpendStartedAt;
            if (ours && row!.LeaseOwner == _instance && row.LeaseUntil == intended.LeaseUntil)
            {
                // The renewal committed and its answer was lost; the storage client's retry then found our own change
                // (412). The row is exactly what we wrote: carry on with its ETag.
                held.Row = row;
                held.LeaseStarted = started;
                return null;
            }

            LogLeaseLost(logger, held.Row.ProviderId, "before the spend; nothing was spent");
            held.Done = true;
            if (ours && !leases.HeldByOther(row!, _instance))
            {
                // Our marker landed, the lease did not stay ours, and nothing was sent: the marker must not make the next
                // refresher take this token for spent.
                await RescheduleQuietlyAsync(row!, "refresh_lease_lost", ct);
            }

            return RefreshOutcome.LeaseLost;
        }

        held.LeaseStarted = started;
        return null;
    }

    /// <summary>Spends, then records what the answer means for the link.</summary>
    private async Task<RefreshOutcome> SpendAndRecordAsync(Held held, IOAuthProvider provider, VaultedCredential spending, bool reconcile, CT ct)
    {
        if (await SpendAsync(held, provider, spending.Credential) is { } answer)
        {
            return await HandleAnswerAsync(held, provider, spending, answer, reconcile, ct);
        }

        // Less is left of the lease than a whole spend and the result's write may take (the renewal itself was slow):
        // nothing is sent, and the marker goes.
        LogLeaseLost(logger, held.Row.ProviderId, "before the spend: less than a whole spend's budget was left; nothing was spent");
        return await RescheduleUnspentAsync(held, "refresh_lease_too_short", time.GetUtcNow() + options.Value.RetryInitialDelay, countsAsFailure: false, ct)
            ? RefreshOutcome.Deferred
            : RefreshOutcome.LeaseLost;
    }

    /// <summary>
    /// Spends the refresh token when the lease still covers a whole spend and the result's write; otherwise null, and
    /// nothing is sent. Refresh calls get <see cref="RefreshOptions.RefreshCallTimeout"/>; running out of time counts as
    /// an unknown outcome, unless no request got as far as writing its body.
    /// </summary>
    private async Task<Answer?> SpendAsync(Held held, IOAuthProvider provider, ProviderCredential credential)
    {
        if (held.Remaining(time, options.Value) - Budget.VaultWrite < Budget.Spend)
        {
            return null;
        }

        var sentAt = time.GetUtcNow();
        using var deadline = new CancellationTokenSource(Budget.Spend, time);
        using var timeout = ProviderHttpClient.WithCallTimeout(options.Value.RefreshCallTimeout);
        using var watch = RequestWriteWatch.Begin();
        try
        {
            var result = await provider.RefreshAsync(credential, deadline.Token);
            return new Answer(result, sentAt, watch.MayHaveReachedServer);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new Answer(new ProviderFailure(ProviderFailureKind.Unavailable, "timeout", "The refresh did not finish within its lease budget."), sentAt, watch.MayHaveReachedServer);
        }
    }

    private async Task<RefreshOutcome> HandleAnswerAsync(Held held, IOAuthProvider provider, VaultedCredential spent, Answer answer, bool reconcile, CT ct)
    {
        if (answer.Result.Succeeded)
        {
            return await StoreAsync(held, provider, spent, answer.Result.Value, answer.SentAt, ct);
        }

        var failure = answer.Result.Failure;
        // A failure before any request of the spend could reach the provider (discovery, configuration, connect, TLS)
        // spent nothing, whatever it is.
        var verdict = answer.MayHaveReachedProvider ? SpendClassifier.Classify(failure) : SpendVerdict.NotSpent;
        switch (verdict)
        {
            case SpendVerdict.Rejected:
                if (reconcile && await SuccessorOfAsync(held, spent, ct) is { } successor)
                {
                    // The vault holds a result refreshed from the very version just spent: a refresher outside the lease
                    // stored it (which explains the rejection). It is this lease holder's to spend, and the lease still
                    // covers a whole spend, so it is tried once.
                    LogReconciling(logger, held.Row.ProviderId);
                    if (await StartSpendAsync(held, successor, held.Row.CredentialName, held.Row.CredentialVersions, ct) is { } lost)
                    {
                        return lost;
                    }

                    return await SpendAndRecordAsync(held, provider, successor, reconcile: false, ct);
                }

                LogReauthRequired(logger, held.Row.ProviderId, failure.ProviderCode);
                return await FinishRejectedAsync(held, failure.ProviderCode, ct);

            case SpendVerdict.NotSpent when failure.Kind == ProviderFailureKind.InvalidClient:
                if (await breaker.TripAsync(held.Row.ProviderId, options.Value.BreakerDuration, failure.ProviderCode, CT.None))
                {
                    LogBreakerOpened(logger, held.Row.ProviderId, failure.ProviderCode, options.Value.BreakerDuration);
                }

                await RescheduleUnspentAsync(held, failure.ProviderCode, time.GetUtcNow() + options.Value.BreakerDuration, countsAsFailure: false, ct);
                return RefreshOutcome.ProviderMisconfigured;

            case SpendVerdict.NotSpent:
                var failures = held.Row.RefreshFailures + 1;
                var now = time.GetUtcNow();
                // A pending renewal is tried again as soon as the provider allows (its Retry-After, at least the 1 s of
                // WhiteBIT's limit), not after the refresh backoff: its refresh token may not outlive that (ContinuePendingAsync).
                var delay = held.Row.Status == LinkStatus.PendingKey
                    ? (failure.RetryAfter is { } asked && asked > PendingRenewalRetryWait ? asked : PendingRenewalRetryWait)
                    : policy.RetryDelay(failures, failure.RetryAfter);
                var at = policy.RetryAt(held.Row, now, delay);
                LogRetrying(logger, held.Row.ProviderId, failure.Kind, failure.ProviderCode, failures, at - now);
                return await RescheduleUnspentAsync(held, failure.ProviderCode, at, countsAsFailure: true, ct)
                    ? RefreshOutcome.Retrying
                    : RefreshOutcome.LeaseLost;

            default:
                LogOutcomeUnknown(logger, held.Row.ProviderId, failure.ProviderCode);
                return await HoldUnknownAsync(held, ct);
        }
    }

    /// <summary>
    /// The vault's latest version when it was refreshed from the version just spent (<see cref="VaultedCredential.RefreshedFrom"/>)
    /// and holds another refresh token, and the lease still covers a spend; otherwise null. Anything else the vault shows
    /// (an older document written late, a copy) is never a reason to send a token.
    /// </summary>
    private async Task<VaultedCredential?> SuccessorOfAsync(Held held, VaultedCredential spent, CT ct)
    {
        if (held.Remaining(time, options.Value) < Budget.ForSpend)
        {
            return null;
        }

        var latest = await vault.ReadAsync(held.Row.CredentialName, ct);
        return latest is { Version: { } version } && latest.RefreshedFrom == spent.Version && version != spent.Version
            && latest.Credential.RefreshToken is { } newer && newer != spent.Credential.RefreshToken
            ? latest with { Link = spent.Link, GrantId = spent.GrantId }
            : null;
    }

    private async Task RescheduleQuietlyAsync(AccountLink row, string code, CT ct)
    {
        try
        {
            await recorder.RescheduleAsync(row, code, time.GetUtcNow() + options.Value.RetryInitialDelay, countsAsFailure: false, ct);
        }
        catch (LinkConcurrencyException)
        {
            // Changed again meanwhile: whoever changed it decides.
        }
    }
}
