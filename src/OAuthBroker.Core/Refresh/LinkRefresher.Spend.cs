using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Refresh;

/// <summary>The spend: proving the vault writes, renewing the lease with the spend marker, the provider call, and what its answer means.</summary>
public sealed partial class LinkRefresher
{
    /// <summary>Rewrites the credential about to be spent (or copies it to a fresh name): a spend only follows a write that worked.</summary>
    private async Task<RefreshOutcome?> ProveWritableAsync(Held held, string target, VaultedCredential document, CT ct)
    {
        try
        {
            await vault.WriteAsync(target, document, ct);
            await gate.SucceededAsync(ct);
            return null;
        }
        catch (VaultUnavailableException ex) when (ex.Failure.AffectsWholeVault())
        {
            await gate.TripAsync(ex.Failure, CT.None);
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return RefreshOutcome.VaultWritesBlocked;
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.NameDeleted)
        {
            // The secret was deleted under the link (an unlink that got that far): nothing to refresh.
            held.Done = true;
            await leases.ReleaseQuietlyAsync(held.Row);
            return RefreshOutcome.Gone;
        }
        catch (VaultUnavailableException ex) when (ex.Failure == VaultFailure.TooLarge)
        {
            LogTooLarge(logger, held.Row.ProviderId);
            held.Done = true;
            return await recorder.HoldAsync(held.Row, "credential_too_large", RefreshOutcome.CredentialTooLarge, ct);
        }
    }

    /// <summary>
    /// Renews the lease for everything the spend can take and records the version being spent, in one
    /// compare-and-swap. Null when the spend may go ahead; <see cref="RefreshOutcome.LeaseLost"/> (nothing spent) when
    /// the row changed, which only happens when the lease was lost.
    /// </summary>
    private async Task<RefreshOutcome?> StartSpendAsync(Held held, VaultedCredential document, string name, int versions, CT ct)
    {
        var started = time.GetTimestamp();
        try
        {
            held.Row = await links.ReplaceAsync(leases.WithLease(held.Row, _instance) with
            {
                CredentialName = name,
                CredentialVersions = versions,
                GrantId = document.GrantId,
                SpendingVersion = document.StoredAt,
                SpendStartedAt = leases.Now,
            }, ct);
        }
        catch (LinkConcurrencyException)
        {
            LogLeaseLost(logger, held.Row.ProviderId, "before the spend; nothing was spent");
            held.Done = true;
            return RefreshOutcome.LeaseLost;
        }

        held.LeaseStarted = started;
        return null;
    }

    /// <summary>
    /// Spends the refresh token, within what is left of the lease after the vault write's budget. Refresh calls get
    /// <see cref="RefreshOptions.RefreshCallTimeout"/>; running out of time counts as an unknown outcome.
    /// </summary>
    private async Task<Answer> SpendAsync(Held held, IOAuthProvider provider, ProviderCredential credential)
    {
        var limit = held.Remaining(time, options.Value) - Budget.VaultWrite;
        if (limit > Budget.Spend)
        {
            limit = Budget.Spend;
        }

        var sentAt = time.GetUtcNow();
        using var deadline = new CancellationTokenSource(limit > TimeSpan.Zero ? limit : TimeSpan.FromMilliseconds(1), time);
        using var timeout = ProviderHttpClient.WithCallTimeout(options.Value.RefreshCallTimeout);
        try
        {
            return new Answer(await provider.RefreshAsync(credential, deadline.Token), sentAt);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new Answer(new ProviderFailure(ProviderFailureKind.Unavailable, "timeout", "The refresh did not finish within its lease budget."), sentAt);
        }
    }

    private async Task<RefreshOutcome> HandleAnswerAsync(Held held, IOAuthProvider provider, VaultedCredential spent, Answer answer, bool reconcile, CT ct)
    {
        if (answer.Result.Succeeded)
        {
            return await StoreAsync(held, provider, spent, answer.Result.Value, answer.SentAt, ct);
        }

        var failure = answer.Result.Failure;
        switch (SpendClassifier.Classify(failure))
        {
            case SpendVerdict.Rejected:
                if (reconcile && await NewerThanAsync(held, spent, ct) is { } newest)
                {
                    // A refresh token newer than the one spent is in the vault (a vault whose reads lag its writes): it is
                    // this lease holder's to spend, and the lease still covers a whole spend, so it is tried once.
                    LogReconciling(logger, held.Row.ProviderId);
                    if (await StartSpendAsync(held, newest, held.Row.CredentialName, held.Row.CredentialVersions, ct) is { } lost)
                    {
                        return lost;
                    }

                    return await HandleAnswerAsync(held, provider, newest, await SpendAsync(held, provider, newest.Credential), reconcile: false, ct);
                }

                LogReauthRequired(logger, held.Row.ProviderId, failure.ProviderCode);
                held.Done = true;
                await recorder.FinishAsync(held.Row, LinkStatus.ReauthRequired, failure.ProviderCode, ct);
                return RefreshOutcome.ReauthRequired;

            case SpendVerdict.NotSpent when failure.Kind == ProviderFailureKind.InvalidClient:
                if (await breaker.TripAsync(held.Row.ProviderId, options.Value.BreakerDuration, failure.ProviderCode, CT.None))
                {
                    LogBreakerOpened(logger, held.Row.ProviderId, failure.ProviderCode, options.Value.BreakerDuration);
                }

                held.Done = true;
                await recorder.RescheduleAsync(held.Row, failure.ProviderCode, time.GetUtcNow() + options.Value.BreakerDuration, countsAsFailure: false, ct);
                return RefreshOutcome.ProviderMisconfigured;

            case SpendVerdict.NotSpent:
                var failures = held.Row.RefreshFailures + 1;
                var now = time.GetUtcNow();
                var at = policy.RetryAt(held.Row, now, policy.RetryDelay(failures, failure.RetryAfter));
                LogRetrying(logger, held.Row.ProviderId, failure.Kind, failure.ProviderCode, failures, at - now);
                held.Done = true;
                await recorder.RescheduleAsync(held.Row, failure.ProviderCode, at, countsAsFailure: true, ct);
                return RefreshOutcome.Retrying;

            default:
                LogOutcomeUnknown(logger, held.Row.ProviderId, failure.ProviderCode);
                held.Done = true;
                return await recorder.HoldAsync(held.Row, OutcomeUnknownCode, RefreshOutcome.OutcomeUnknown, ct);
        }
    }

    /// <summary>The vault's newest credential when it holds a different refresh token than the one spent and the lease still covers a spend.</summary>
    private async Task<VaultedCredential?> NewerThanAsync(Held held, VaultedCredential spent, CT ct)
    {
        if (held.Remaining(time, options.Value) < Budget.ForSpend)
        {
            return null;
        }

        var newest = await vault.ReadAsync(held.Row.CredentialName, ct);
        return newest?.Credential.RefreshToken is { } newer && newer != spent.Credential.RefreshToken && newest.StoredAt != spent.StoredAt
            ? newest with { Link = spent.Link, GrantId = spent.GrantId }
            : null;
    }
}
