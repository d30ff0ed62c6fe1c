using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Refresh;

namespace OAuthBroker.Links;

/// <summary>
/// A pending link's spend marker (<see cref="AccountLink.SpendingVersion"/>) found by someone other than the renewal that
/// set it, with that renewal's result not in the vault. Its holder may be alive and slow: a vault finishes a write it fully
/// received even after its client stopped waiting, and reads may show it only later (Key Vault throttling guidance:
/// "within 60 seconds" on vaults allow-listed for higher throughput). Ending the flow at once would throw away a good
/// renewal and delete the key it was about to fetch. So the link is held (nothing spent, nothing deleted) until the
/// holder's result can no longer land and show, then looked at once more: the result is adopted if it is there, otherwise
/// the flow ends as an unknown outcome does. The look never comes after the old access token can still remove the flow's
/// key, and within the run that found the marker when the next run would come too late for that.
/// </summary>
public sealed partial class PendingSpendInDoubt(
    RefreshRecorder recorder,
    LinkLeases leases,
    IVaultWriteBudget vault,
    PendingRenewalHorizon horizon,
    IOptions<RefreshOptions> refreshOptions,
    TimeProvider time,
    ILogger<PendingSpendInDoubt> logger)
{
    /// <summary>What a held pending link's <see cref="AccountLink.WaitingFor"/> says: the result of a renewal under way elsewhere.</summary>
    public const string HeldWait = "renewal_result";

    /// <summary>
    /// When to look again at a row whose spend's result is not in the vault (this instance's clock), or null when it is
    /// decided now: the holder's result can no longer land and show (the marker is older than the whole spend's lease
    /// budget after it was set, <see cref="LeaseBudget.ForSpend"/>, or its lease's end when later, plus <see cref="IVaultWriteBudget.WriteVisibleWithin"/>), the
    /// old access token would stop being able to remove the flow's key before then, or the row was already held once and its look has come.
    /// </summary>
    public DateTimeOffset? LookAt(AccountLink row)
    {
        var now = time.GetUtcNow();
        if (row.SpendStartedAt is not { } started || HeldLookCame(row, now))
        {
            return null;
        }

        var o = refreshOptions.Value;
        // The marker was set on the storage service's clock (LinkLeases.Now), and its age is measured on it. The holder set
        // it in the same write that renewed its lease, and sends while what is left of that lease still holds the spend
        // and the vault write (LinkRefresher.SpendAsync): a slow marker write moves the send later, so its result's write
        // may end as late as the lease's end less the clock allowance, not only the spend budget after the marker.
        var holderWritesBy = Max(o.BudgetWith(vault.WorstCaseWrite).ForSpend, o.LeaseDuration - o.ClockAllowance);
        var settledBy = now + (started + holderWritesBy + vault.WriteVisibleWithin + o.ClockAllowance - leases.Now);
        var look = settledBy;
        if (row.AccessTokenExpiresAt is { } expires && expires - o.ClockAllowance > now)
        {
            // The access token of the version spent is what removes the flow's key if nothing lands (api-key-delete takes
            // a live bearer token): the look comes while it lives, and in this run when the next one would come too late.
            // Once it cannot any more, waiting for the holder's result costs nothing.
            var cleanBy = expires - o.ClockAllowance;
            var thisRun = now + horizon.RenewalRetryWindow;
            if (horizon.NextRunActsBy(now) > cleanBy && thisRun < cleanBy)
            {
                cleanBy = thisRun;
            }

            look = cleanBy < look ? cleanBy : look;
        }

        return look > now ? look : null;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// Holds the leased row until <paramref name="look"/>: the lease given back, the marker kept (nothing is spent while it
    /// stands), <see cref="HeldWait"/> for the link page, and the row due again at the look.
    /// </summary>
    public async Task<RefreshOutcome> HoldAsync(AccountLink leased, DateTimeOffset look, CT ct)
    {
        LogHeld(logger, leased.ProviderId, look);
        await recorder.ReplaceWithScheduleAsync(leased, leased with
        {
            LeaseOwner = null,
            LeaseUntil = null,
            LastFailure = LinkRefresher.OutcomeUnknownCode,
            WaitingFor = HeldWait,
            NextRefreshAt = look,
        }, ct);
        return RefreshOutcome.OutcomeUnknown;
    }

    /// <summary>
    /// The row was held for this very marker (its look is later than the spend began) and the look has come: it is decided
    /// now, not held again.
    /// </summary>
    private static bool HeldLookCame(AccountLink row, DateTimeOffset now) =>
        row.WaitingFor == HeldWait && row.NextRefreshAt is { } look && look > row.SpendStartedAt && look <= now;

    [LoggerMessage(Level = LogLevel.Information, Message = "A pending {ProviderId} renewal's result is not in the vault yet; its holder may still store it, so the link is looked at again at {Look}")]
    private static partial void LogHeld(ILogger logger, string providerId, DateTimeOffset look);
}
