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
    /// Continues a pending link; when the continuation asks for a renewal it has given its lease back, the refresh token
    /// is spent here, and the continuation goes on once with the renewed pair.
    /// </summary>
    private async Task<RefreshOutcome> ContinuePendingAsync(AccountLink link, CT ct)
    {
        var (outcome, handedOver) = await pendingKeys.StepAsync(link, afterRenewal: false, ct);
        if (outcome != RefreshOutcome.RenewalNeeded)
        {
            return outcome;
        }

        var renewed = await RenewHandedOverAsync(handedOver!, ct);
        if (renewed != RefreshOutcome.Refreshed)
        {
            return renewed;
        }

        return await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct) is { Status: LinkStatus.PendingKey } current
            ? (await pendingKeys.StepAsync(current, afterRenewal: true, ct)).Outcome
            : RefreshOutcome.Refreshed;
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
    /// still remove the flow's key, rather than when it has expired.
    /// </summary>
    private async Task<RefreshOutcome> HoldUnknownAsync(Held held, CT ct)
    {
        held.Done = true;
        return held.Row.Status == LinkStatus.PendingKey
            ? await pendingKeys.FailHeldAsync(held.Row, OutcomeUnknownCode, spendSettled: false, ct)
            : await recorder.HoldAsync(held.Row, OutcomeUnknownCode, RefreshOutcome.OutcomeUnknown, ct);
    }
}
