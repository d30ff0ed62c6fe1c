using Microsoft.Extensions.Options;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Links;

/// <summary>
/// When a pending link's pair must be renewed, measured against the schedule of the runs that can renew it
/// (<see cref="IRunCadence"/>): WhiteBIT's 600 s refresh token against a five-minute timer leaves one run to do it, and
/// a look or retry scheduled past that run would leave the next one nothing to act with.
/// </summary>
public sealed class PendingRenewalHorizon(IRunCadence cadence, IOptions<RefreshOptions> refreshOptions)
{
    /// <summary>
    /// The latest moment the next scheduled run may act on the link: it starts within one gap of the schedule, may reach
    /// the link as late as its sweep budget allows, and may wait for a vault-write slot before it spends; plus the clock
    /// allowance (the provider judges expiry by its own clock).
    /// </summary>
    public DateTimeOffset NextRunActsBy(DateTimeOffset now)
    {
        var o = refreshOptions.Value;
        return now + cadence.LongestGap + o.SweepBudget + o.PacingMaxWait + o.ClockAllowance;
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
    /// most <see cref="RefreshOptions.SweepBudget"/> before, so retries end before the next run starts (one gap of the
    /// schedule after). None when the sweep budget takes the whole gap.
    /// </summary>
    public TimeSpan RenewalRetryWindow =>
        cadence.LongestGap > refreshOptions.Value.SweepBudget ? cadence.LongestGap - refreshOptions.Value.SweepBudget : TimeSpan.Zero;
}
