using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Links;

/// <summary>
/// When a pending link's pair must be renewed, measured against the schedule of the runs that can renew it
/// (<see cref="IRunCadence"/>): WhiteBIT's 600 s refresh token against a five-minute timer leaves one run to do it, and
/// a look or retry scheduled past that run would leave the next one nothing to act with. Every bound here is the worst
/// case the settings allow (<see cref="Terms"/>), so a run that decides "the next run can still renew it" is right
/// whatever the next run meets.
/// </summary>
public sealed class PendingRenewalHorizon(IRunCadence cadence, IOptions<RefreshOptions> refreshOptions, IVaultWriteBudget vaultBudget)
{
    /// <summary>
    /// The latest moment the next scheduled run may act on the link: the refresh token it sends must still be alive when
    /// the provider reads it (<see cref="HorizonTerms"/> lists each part).
    /// </summary>
    public DateTimeOffset NextRunActsBy(DateTimeOffset now) => now + Terms.Total;

    /// <summary>How long after any moment of a run the next run may act on a link, part by part.</summary>
    public HorizonTerms Terms
    {
        get
        {
            var o = refreshOptions.Value;
            var budget = o.BudgetWith(vaultBudget.WorstCaseWrite);
            // One renewal, from the lease taken to its result stored: the lease budget (pacing, the spend, the result's
            // write, the clock allowance), plus the write that proves the vault takes writes before the spend
            // (VaultWriteGate), made within the first lease before the lease is renewed for the spend.
            var renewal = budget.Total + budget.VaultWrite;
            // This run, from its start (any moment of it is later): it reaches its last link at its sweep budget; that link's
            // renewal, when refused, is retried within the retry window after reaching it, the last try taking a whole
            // renewal; then the housekeeping runs its own budget.
            var thisRunMayLast = o.SweepBudget + RenewalRetryWindow + renewal + o.HousekeepingBudget;
            return new HorizonTerms(
                NextRunStarts: cadence.NextRunStartsWithin(thisRunMayLast),
                ThisRunMayLast: thisRunMayLast,
                // The next run launches work on a due link until its sweep budget is spent (RefreshSweep): the link may be
                // the last one it reaches.
                Reach: o.SweepBudget,
                // From reaching the link to the provider reading its refresh token: a vault-write slot (VaultWritePacer,
                // at most PacingMaxWait), the proof write (the vault client's worst case with its retries), and the spend's
                // calls within their deadline (CallsPerSpend × RefreshCallTimeout; WhiteBIT's 1 request/s pacer waits
                // inside that deadline, WhiteBitRefreshPacer, so its queue never makes the spend later, only unsent).
                ToProvider: o.PacingMaxWait + budget.VaultWrite + budget.Spend,
                // The provider judges expiry by its own clock.
                Clock: o.ClockAllowance);
        }
    }

    /// <summary>
    /// <paramref name="at"/>, but never after the last moment a run can look at the link and still renew its refresh token
    /// in time: its expiry less the next run's horizon (<see cref="NextRunActsBy"/>). A look scheduled later (a long
    /// Retry-After, a long wait) would make the run that must renew skip the link, and the run after find it dead.
    /// </summary>
    public DateTimeOffset NotPastLastRenewingRun(AccountLink described, DateTimeOffset now, DateTimeOffset at)
    {
        if (!described.HasRefreshToken || described.RefreshTokenExpiresAt is not { } expires)
        {
            return at;
        }

        var latest = expires - (NextRunActsBy(now) - now);
        return at <= latest ? at : latest < now ? now : latest;
    }

    /// <summary>
    /// True while the link's refresh token would expire before the next scheduled run could act on it: this run is the
    /// last that can renew it.
    /// </summary>
    public bool MustRenewThisRun(AccountLink link, DateTimeOffset now) =>
        link.RefreshTokenExpiresAt is { } expires && expires <= NextRunActsBy(now);

    /// <summary>
    /// How long after a run reached a pending link its renewal may still be tried again in that run: the run started at
    /// most <see cref="RefreshOptions.SweepBudget"/> before, so retries start no later than one gap of the schedule after
    /// it. None when the sweep budget takes the whole gap. Runs never overlap, so retries that outlast the gap delay the
    /// next run rather than run beside it: <see cref="HorizonTerms.ThisRunMayLast"/> counts them.
    /// </summary>
    public TimeSpan RenewalRetryWindow =>
        cadence.LongestGap > refreshOptions.Value.SweepBudget ? cadence.LongestGap - refreshOptions.Value.SweepBudget : TimeSpan.Zero;

    /// <summary>
    /// The parts of the horizon: the next run starts within <see cref="NextRunStarts"/> (the schedule's gap, or this run's
    /// end when it can outlast the gap: <see cref="IRunCadence.NextRunStartsWithin"/> of <see cref="ThisRunMayLast"/>),
    /// reaches the link within <see cref="Reach"/>, its refresh token reaches the provider within <see cref="ToProvider"/>,
    /// and the provider's clock may run <see cref="Clock"/> ahead. Not counted, because no setting bounds them: the storage
    /// and provider calls of a pending link's look before and after its renewal, and the wait for a concurrency slot the
    /// sweep takes after its budget check.
    /// </summary>
    public sealed record HorizonTerms(TimeSpan NextRunStarts, TimeSpan ThisRunMayLast, TimeSpan Reach, TimeSpan ToProvider, TimeSpan Clock)
    {
        public TimeSpan Total => NextRunStarts + Reach + ToProvider + Clock;
    }
}
