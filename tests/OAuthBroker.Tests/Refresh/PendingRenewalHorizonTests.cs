using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Host.Refresh;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage;
using OAuthBroker.Storage.Vault;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Refresh;

/// <summary>
/// The latest moment the next run may act on a pending link, worked out by hand from the settings for real schedules,
/// under the Functions timer and the in-process scheduler. Default settings: Schedule every minute, SweepBudget 45 s,
/// HousekeepingBudget 30 s, PacingMaxWait 5 s, ClockAllowance 5 s, RefreshCallTimeout 30 s (two calls per spend: 60 s),
/// and a Key Vault write of at most 3 × 10 s + 2 × 4 s = 38 s (KeyVaultOptions.WorstCaseCall); one renewal under its
/// lease therefore takes at most 5 + 60 + 38 + 5 = 108 s, plus the 38 s proof write before it: 146 s. WhiteBIT's refresh
/// token lives 600 s.
/// </summary>
public sealed class PendingRenewalHorizonTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 7, TimeSpan.Zero);

    private static readonly TimeSpan WhiteBitRefreshTokenLife = TimeSpan.FromSeconds(600);

    /// <summary>
    /// The defaults: a run may last 45 s (sweep) + 15 s (retries: the gap less the sweep budget) + 146 s (the last renewal)
    /// + 30 s (housekeeping) = 236 s, longer than the minute between runs. Under the timer the passed occurrence fires when
    /// the run ends; the next run then reaches the link within 45 s and its token reaches WhiteBIT within 5 + 38 + 60 =
    /// 103 s, plus 5 s for WhiteBIT's clock: 389 s. Standalone the scheduler waits for the first occurrence after the run's
    /// end (60 s more): 449 s. Both leave a pair renewed now (600 s) to the next run, with 211 s and 151 s to spare.
    /// </summary>
    [Fact]
    public void At_the_defaults_a_fresh_pair_is_left_to_the_next_run_under_either_scheduler()
    {
        var timer = Horizon(new RefreshOptions().Schedule, underTimer: true);
        timer.Terms.ShouldBe(new PendingRenewalHorizon.HorizonTerms(
            NextRunStarts: TimeSpan.FromSeconds(236), ThisRunMayLast: TimeSpan.FromSeconds(236), Reach: TimeSpan.FromSeconds(45),
            ToProvider: TimeSpan.FromSeconds(103), Clock: TimeSpan.FromSeconds(5)));
        timer.NextRunActsBy(Now).ShouldBe(Now + TimeSpan.FromSeconds(389));
        timer.MustRenewThisRun(Pending(expiresIn: WhiteBitRefreshTokenLife), Now).ShouldBeFalse();
        timer.MustRenewThisRun(Pending(expiresIn: TimeSpan.FromSeconds(389)), Now).ShouldBeTrue();

        var standalone = Horizon(new RefreshOptions().Schedule, underTimer: false);
        standalone.NextRunActsBy(Now).ShouldBe(Now + TimeSpan.FromSeconds(449));
        standalone.MustRenewThisRun(Pending(expiresIn: WhiteBitRefreshTokenLife), Now).ShouldBeFalse();
    }

    /// <summary>
    /// A five-minute timer with the default budgets: a run may last 45 + 255 (retries: 300 − 45) + 146 + 30 = 476 s, longer
    /// than the gap; the next run then acts within 476 + 45 + 103 + 5 = 629 s, after a pair renewed just now (600 s) may
    /// have died, so this run renews it again (and start-up refuses this schedule with a Fast WhiteBIT provider). The old
    /// horizon said 300 + 240 + 5 + 5 = 550 s at its four-minute sweep budget, and left it to a next run that could come too late.
    /// </summary>
    [Fact]
    public void At_a_five_minute_timer_a_run_can_outlast_the_gap_and_the_next_one_come_after_a_fresh_pair_died()
    {
        var horizon = Horizon("0 */5 * * * *", underTimer: true);

        horizon.NextRunActsBy(Now).ShouldBe(Now + TimeSpan.FromSeconds(629));
        horizon.MustRenewThisRun(Pending(expiresIn: WhiteBitRefreshTokenLife), Now).ShouldBeTrue();
        horizon.Terms.ShouldBe(new PendingRenewalHorizon.HorizonTerms(
            NextRunStarts: TimeSpan.FromSeconds(476), ThisRunMayLast: TimeSpan.FromSeconds(476), Reach: TimeSpan.FromSeconds(45),
            ToProvider: TimeSpan.FromSeconds(103), Clock: TimeSpan.FromSeconds(5)));
    }

    /// <summary>
    /// Every ten seconds, standalone: the run (45 + 0 + 146 + 30 = 221 s) outlasts every gap, and the in-process scheduler
    /// waits for the first occurrence after it ends (10 s), then the next run reaches the link within 45 s: 221 + 10 + 45
    /// + 103 + 5 = 384 s. The old horizon counted one gap (10 + 45 + 5 + 5 = 65 s) and let a token that lives 380 s more
    /// wait for the next run.
    /// </summary>
    [Fact]
    public void Every_ten_seconds_the_next_run_starts_only_after_this_one_ends()
    {
        var horizon = Horizon("*/10 * * * * *", underTimer: false);

        horizon.NextRunActsBy(Now).ShouldBe(Now + TimeSpan.FromSeconds(384));
        horizon.MustRenewThisRun(Pending(expiresIn: TimeSpan.FromSeconds(380)), Now).ShouldBeTrue();
    }

    /// <summary>
    /// A schedule that fits WhiteBIT's 600 s: every minute with a 30 s sweep and 30 s of housekeeping. A run lasts at most
    /// 30 + 30 (retries: 60 − 30) + 146 + 30 = 236 s; under the timer the next run starts within that, reaches the link
    /// within 30 s, and its token reaches WhiteBIT within 103 s, + 5 s: 374 s. A pair renewed now is left to the next run;
    /// a token with 374 s left is not.
    /// </summary>
    [Fact]
    public void Every_minute_with_short_budgets_a_fresh_pair_is_left_to_the_next_run_and_a_token_short_of_the_horizon_is_not()
    {
        var horizon = Horizon("0 * * * * *", underTimer: true, sweepBudget: TimeSpan.FromSeconds(30), housekeepingBudget: TimeSpan.FromSeconds(30));

        horizon.NextRunActsBy(Now).ShouldBe(Now + TimeSpan.FromSeconds(374));
        horizon.MustRenewThisRun(Pending(expiresIn: WhiteBitRefreshTokenLife), Now).ShouldBeFalse();
        horizon.MustRenewThisRun(Pending(expiresIn: TimeSpan.FromSeconds(374)), Now).ShouldBeTrue();
        horizon.MustRenewThisRun(Pending(expiresIn: TimeSpan.FromSeconds(375)), Now).ShouldBeFalse();

        // Standalone the scheduler waits a whole minute after a run that reached the next occurrence: 60 s more.
        Horizon("0 * * * * *", underTimer: false, sweepBudget: TimeSpan.FromSeconds(30), housekeepingBudget: TimeSpan.FromSeconds(30))
            .NextRunActsBy(Now).ShouldBe(Now + TimeSpan.FromSeconds(434));
    }

    /// <summary>
    /// A timer run's claim on its occurrence is held as long as the run can last, plus the clock allowance: at the defaults
    /// 236 + 5 s, at a five-minute timer 476 + 5 s. It used to be the two budgets and a minute (45 + 30 + 60 = 135 s), so a
    /// replay of the occurrence (past due, another instance) could start beside a run still renewing its last link.
    /// </summary>
    [Fact]
    public void A_timer_runs_claim_is_held_as_long_as_the_run_can_last()
    {
        var defaults = Horizon(new RefreshOptions().Schedule, underTimer: true).Terms;
        ScheduledRunHold.Of(defaults, new RefreshOptions()).ShouldBe(TimeSpan.FromSeconds(241));
        ScheduledRunHold.Of(Horizon("0 */5 * * * *", underTimer: true).Terms, new RefreshOptions()).ShouldBe(TimeSpan.FromSeconds(481));
    }

    /// <summary>A look asked for later (a long Retry-After) is brought forward to the last run that can still renew: expiry less the horizon.</summary>
    [Fact]
    public void A_later_look_is_brought_forward_to_the_last_run_that_can_renew()
    {
        var horizon = Horizon("0 * * * * *", underTimer: true, sweepBudget: TimeSpan.FromSeconds(30), housekeepingBudget: TimeSpan.FromSeconds(30));
        var link = Pending(expiresIn: WhiteBitRefreshTokenLife);

        horizon.NotPastLastRenewingRun(link, Now, Now + TimeSpan.FromSeconds(500)).ShouldBe(Now + TimeSpan.FromSeconds(600 - 374));
        horizon.NotPastLastRenewingRun(link, Now, Now + TimeSpan.FromSeconds(100)).ShouldBe(Now + TimeSpan.FromSeconds(100));
    }

    /// <summary>The horizon as the app composes it: the real cadence of the schedule, the vault client's worst case write.</summary>
    private static PendingRenewalHorizon Horizon(string schedule, bool underTimer, TimeSpan? sweepBudget = null, TimeSpan? housekeepingBudget = null)
    {
        var refresh = new RefreshOptions { Schedule = schedule };
        refresh.SweepBudget = sweepBudget ?? refresh.SweepBudget;
        refresh.HousekeepingBudget = housekeepingBudget ?? refresh.HousekeepingBudget;
        var settings = new Dictionary<string, string?>();
        if (underTimer)
        {
            settings["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7071";
        }

        return new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .AddSingleton<TimeProvider>(new ManualClock(Now - DateTimeOffset.UtcNow))
            .AddSingleton(Options.Create(refresh))
            .AddSingleton(Options.Create(new KeyVaultOptions()))
            .AddSingleton<IVaultWriteBudget, KeyVaultWriteBudget>()
            .AddSingleton<IRunCadence, CrontabRunCadence>()
            .AddSingleton<PendingRenewalHorizon>()
            .BuildServiceProvider()
            .GetRequiredService<PendingRenewalHorizon>();
    }

    private static AccountLink Pending(TimeSpan expiresIn) => new()
    {
        UserId = "user-1",
        ProviderId = "whitebit",
        AccountId = "pending-1",
        Status = LinkStatus.PendingKey,
        CredentialName = "cred-pending-1",
        Scopes = [],
        HasApiKey = false,
        HasRefreshToken = true,
        AccessTokenExpiresAt = Now + TimeSpan.FromSeconds(300),
        RefreshTokenExpiresAt = Now + expiresIn,
        CreatedAt = Now,
        UpdatedAt = Now,
    };
}
