using OAuthBroker.Links;

namespace OAuthBroker.Refresh;

/// <summary>
/// Renewing the access token of a link that waits for its provider (WhiteBIT's key): the very spend a refresh makes, with
/// every rule it keeps (single-flight in this instance, the version the row names, the vault-write gate and its proof, the
/// write pacer, the lease budget, <see cref="RefreshOptions.RefreshCallTimeout"/>, <see cref="SpendClassifier"/>, the
/// result written before the row). Its definite failures end the way every pending failure ends
/// (<see cref="PendingKeyContinuation.FailHeldAsync"/>), not as a plain refresh's.
/// </summary>
public sealed partial class LinkRefresher
{
    /// <summary>
    /// The least wait before a pending renewal refused without being spent is sent again: WhiteBIT's token endpoint takes
    /// one request per second ("Rate limit: 1 request per second", WhiteBIT openapi/oauth2.yaml, refresh_token).
    /// </summary>
    private static readonly TimeSpan PendingRenewalRetryWait = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Looks a run takes at a pending link whose renewal's result is awaited (<see cref="PendingSpendInDoubt"/>): the hold,
    /// its one look, and a retry for each of them when another instance had the lease that moment.
    /// </summary>
    private const int HeldLooksPerRun = 4;

    /// <summary>
    /// Continues a pending link; when the continuation asks for a renewal it has given its lease back, the refresh token
    /// is spent here, and the continuation goes on once with the renewed pair. A renewal whose result may still land
    /// (its own write not answered in time, or another holder's marker found) is looked at again in this run when its
    /// look comes before the next run could (<see cref="PendingSpendInDoubt.LookAt"/>): with WhiteBIT's 300 s access
    /// token against a five-minute timer the next run would find no token left to remove the flow's key with.
    /// </summary>
    private async Task<RefreshOutcome> ContinuePendingAsync(AccountLink link, CT ct)
    {
        var outcome = await ContinuePendingOnceAsync(link, ct);
        for (var looks = 0; looks < HeldLooksPerRun && outcome is RefreshOutcome.OutcomeUnknown or RefreshOutcome.ResultLost
            && await HeldLookAsync(link, ct) is { } held; looks++)
        {
            // Busy: another instance held the link that moment (it found the marker too); its hold is looked at all the same.
            outcome = await ContinuePendingOnceAsync(held, ct) is var next && next == RefreshOutcome.Busy ? RefreshOutcome.OutcomeUnknown : next;
        }

        return outcome;
    }

    /// <summary>
    /// The row to look at again, once its look has come, when the link is pending with a spend in doubt and the look comes
    /// within this run (<see cref="PendingRenewalHorizon.RenewalRetryWindow"/>): a row already held waits for its look, one
    /// another instance holds that moment a little (<see cref="PendingRenewalRetryWait"/>), one not held yet (its own
    /// renewal's write unanswered) is handed to the continuation at once, which holds or decides it. Otherwise null.
    /// </summary>
    private async Task<AccountLink?> HeldLookAsync(AccountLink link, CT ct)
    {
        var row = await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct);
        var now = time.GetUtcNow();
        if (row is not { Status: LinkStatus.PendingKey, SpendInDoubt: true })
        {
            return null;
        }

        var at = leases.HeldByOther(row, _instance) ? now + PendingRenewalRetryWait
            : row.WaitingFor == PendingSpendInDoubt.HeldWait && row.NextRefreshAt is { } look ? look
            : now;
        if (at > now + renewalHorizon.RenewalRetryWindow)
        {
            return null;
        }

        if (at > now)
        {
            await Task.Delay(at - now, time, ct);
        }

        return await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct) is { Status: LinkStatus.PendingKey } current ? current : null;
    }

    /// <summary>One step of the continuation, and the renewal it asks for.</summary>
    private async Task<RefreshOutcome> ContinuePendingOnceAsync(AccountLink link, CT ct)
    {
        var (outcome, handedOver) = await pendingKeys.StepAsync(link, afterRenewal: false, ct);
        if (outcome != RefreshOutcome.RenewalNeeded)
        {
            return outcome;
        }

        var reached = time.GetUtcNow();
        var renewed = await RenewHandedOverAsync(handedOver!, ct);
        // A renewal refused before anything was spent (WhiteBIT's 1 request/s limit, a 5xx, vault pacing, a lease taken
        // meanwhile) is tried again in this run while the next run would come too late to renew: at the row's next
        // attempt (the provider's Retry-After), never into the next run's start (see PendingRenewalHorizon.RenewalRetryWindow).
        var until = reached + renewalHorizon.RenewalRetryWindow;
        while (RetriedInRun(renewed) && await NextRenewalAsync(link, until, ct) is { } again)
        {
            renewed = await RenewHandedOverAsync(again, ct);
        }

        if (renewed != RefreshOutcome.Refreshed)
        {
            // Still not renewed, and the refresh token may be dead when the next run comes: the flow ends now, through
            // the continuation's failure path, rather than at a run that finds nothing left to act with.
            return RetriedInRun(renewed) || renewed is RefreshOutcome.ProviderMisconfigured or RefreshOutcome.ProviderUnavailable
                ? await pendingKeys.EndUnrenewableAsync(link, renewed, ct)
                : renewed;
        }

        return await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct) is { Status: LinkStatus.PendingKey } current
            ? (await pendingKeys.StepAsync(current, afterRenewal: true, ct)).Outcome
            : RefreshOutcome.Refreshed;
    }

    /// <summary>The renewal outcomes that spent nothing and may go through a little later.</summary>
    private static bool RetriedInRun(RefreshOutcome outcome) => outcome is RefreshOutcome.Retrying or RefreshOutcome.Deferred
        or RefreshOutcome.LeaseLost or RefreshOutcome.Busy or RefreshOutcome.VaultWritesBlocked;

    /// <summary>
    /// The row to renew again, after waiting for its next attempt (at least <see cref="PendingRenewalRetryWait"/>), when
    /// that is still within <paramref name="until"/>, the refresh token is still this run's to renew
    /// (<see cref="PendingRenewalHorizon.MustRenewThisRun"/>), nothing is in doubt, nobody else holds it, and a whole
    /// lease still fits before the refresh token expires. Otherwise null.
    /// </summary>
    private async Task<AccountLink?> NextRenewalAsync(AccountLink link, DateTimeOffset until, CT ct)
    {
        var row = await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct);
        var now = time.GetUtcNow();
        if (row is not { Status: LinkStatus.PendingKey, HasRefreshToken: true, SpendInDoubt: false } || leases.HeldByOther(row, _instance)
            || !renewalHorizon.MustRenewThisRun(row, now))
        {
            return null;
        }

        var at = row.NextRefreshAt is { } next && next > now + PendingRenewalRetryWait ? next : now + PendingRenewalRetryWait;
        if (at > until || at + Budget.Total > row.RefreshTokenExpiresAt)
        {
            return null;
        }

        await Task.Delay(at - now, time, ct);
        return await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct) is { Status: LinkStatus.PendingKey } current
            && current.CredentialVersion == row.CredentialVersion
            ? current
            : null;
    }

    /// <summary>
    /// The renewal of the row a continuation handed over (<see cref="PendingKeyContinuation.StepAsync"/>), single-flight
    /// with every other attempt on the link in this instance (an unlink renewing first, a second sweep): they share it.
    /// </summary>
    internal Task<RefreshOutcome> RenewHandedOverAsync(AccountLink handedOver, CT ct) =>
        SingleFlightAsync(handedOver.Key, () => RenewPendingAsync(handedOver), ct);

    /// <summary>
    /// The refresh of a <see cref="LinkStatus.PendingKey"/> link, under this refresher's own lease, of the credential
    /// version <paramref name="handedOver"/> names: a row that names another one was renewed (or changed) by someone else
    /// since, and is left to them. Not the caller's token, as for every refresh: each step is bounded by its own budget,
    /// and a spend that was sent gets its result stored.
    /// </summary>
    private async Task<RefreshOutcome> RenewPendingAsync(AccountLink handedOver)
    {
        var ct = CT.None;
        var link = await links.GetAsync(handedOver.UserId, handedOver.ProviderId, handedOver.AccountId, ct);
        if (link is not { Status: LinkStatus.PendingKey, HasRefreshToken: true })
        {
            return RefreshOutcome.Gone;
        }

        if (link.CredentialName != handedOver.CredentialName || link.CredentialVersion != handedOver.CredentialVersion || leases.HeldByOther(link, _instance))
        {
            return RefreshOutcome.Busy;
        }

        if (providers.Find(link.ProviderId) is not { } provider)
        {
            await recorder.ParkAsync(link, "provider_unavailable", time.GetUtcNow() + options.Value.KeepAliveInterval, ct);
            return RefreshOutcome.ProviderUnavailable;
        }

        if (breaker.OpenUntil(link.ProviderId) is { } openUntil)
        {
            await recorder.ParkAsync(link, link.LastFailure ?? "provider_breaker_open", openUntil, ct);
            return RefreshOutcome.ProviderMisconfigured;
        }

        return await LeaseAndRefreshAsync(link, provider, ct);
    }

    /// <summary>
    /// The refresh token was rejected, or is missing: a plain link needs its user again; a pending one ends through the
    /// continuation (its key removed while the held access token can, <c>whitebit.key_failed</c>).
    /// </summary>
    private async Task<RefreshOutcome> FinishRejectedAsync(Held held, string code, CT ct)
    {
        held.Done = true;
        if (held.Row.Status == LinkStatus.PendingKey)
        {
            return await pendingKeys.FailHeldAsync(held.Row, code, spendSettled: true, ct);
        }

        await recorder.FinishAsync(held.Row, LinkStatus.ReauthRequired, code, ct);
        return RefreshOutcome.ReauthRequired;
    }

    /// <summary>
    /// A spend whose outcome is unknown: a plain link keeps serving its access token until it expires
    /// (<see cref="RefreshRecorder.HoldAsync"/>); a pending link serves nobody, so it ends now, while that access token may
    /// still remove the flow's key, rather than when it has expired. Only for this holder's own spend: nobody else will
    /// store a result for it.
    /// </summary>
    private async Task<RefreshOutcome> HoldUnknownAsync(Held held, CT ct)
    {
        held.Done = true;
        return held.Row.Status == LinkStatus.PendingKey
            ? await pendingKeys.FailHeldAsync(held.Row, OutcomeUnknownCode, spendSettled: false, ct)
            : await recorder.HoldAsync(held.Row, OutcomeUnknownCode, RefreshOutcome.OutcomeUnknown, ct);
    }

    /// <summary>
    /// An earlier holder's spend marker, its result not in the vault: a plain link is held as for an unknown outcome; a
    /// pending link is held while that holder's result may still land and show (<see cref="PendingSpendInDoubt"/>), and
    /// ends as an unknown outcome once it cannot.
    /// </summary>
    private async Task<RefreshOutcome> HoldEarlierSpendAsync(Held held, CT ct)
    {
        if (held.Row.Status == LinkStatus.PendingKey && pendingSpends.LookAt(held.Row) is { } look)
        {
            held.Done = true;
            return await pendingSpends.HoldAsync(held.Row, look, ct);
        }

        return await HoldUnknownAsync(held, ct);
    }
}
