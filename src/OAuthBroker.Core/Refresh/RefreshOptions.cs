using Microsoft.Extensions.Options;

namespace OAuthBroker.Refresh;

/// <summary>The token lifecycle (section <c>Refresh</c>).</summary>
public sealed class RefreshOptions
{
    public const string SectionName = "Refresh";

    /// <summary>Six-field NCRONTAB schedule of the sweep (seconds first), UTC. Default every five minutes.</summary>
    public string Schedule { get; set; } = "0 */5 * * * *";

    /// <summary>Refresh this long before the access token expires (capped at half its lifetime). Default 5 min; per provider <c>Providers:{id}:RefreshMargin</c>.</summary>
    public TimeSpan DefaultMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Refresh at least this often even when the access token lasts longer, so idle refresh tokens stay alive. Default 24 h.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long one sweep may run before it stops and leaves the rest to the next one. Default 4 min (Consumption's default limit is 5).</summary>
    public TimeSpan SweepBudget { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>How long the housekeeping tasks after a sweep may run (see <c>Scheduling/IHousekeepingTask</c>). Default 1 min.</summary>
    public TimeSpan HousekeepingBudget { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Refreshes running at once, overall. Default 8.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Refreshes running at once against one provider's token endpoint. Default 2.</summary>
    public int MaxConcurrencyPerProvider { get; set; } = 2;

    /// <summary>How long a refresher holds a link. Must outlast a provider call plus a vault write. Default 60 s.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>First retry delay after a transient failure; doubles per consecutive failure. Default 1 min.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest retry delay. Default 1 h.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a provider that rejected the broker's client credentials is left alone. Default 15 min.</summary>
    public TimeSpan BreakerDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Vault writes per second from this instance (Key Vault allows ~30/s per vault). Default 20.</summary>
    public double VaultWritesPerSecond { get; set; } = 20;

    /// <summary>How long a credential read from the vault is reused by this instance. Default 30 s.</summary>
    public TimeSpan VaultCacheDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a credential read reuses the link row this instance last read, when that row is active and not near
    /// expiry. Default 2 s; zero reads the row on every request.
    /// </summary>
    public TimeSpan LinkCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    internal sealed class Validator : IValidateOptions<RefreshOptions>
    {
        public ValidateOptionsResult Validate(string? name, RefreshOptions options)
        {
            var errors = new List<string>();
            if (!NcrontabSchedule.IsValid(options.Schedule))
            {
                errors.Add($"{SectionName}:Schedule '{options.Schedule}' is not a six-field NCRONTAB expression (second minute hour day month day-of-week).");
            }

            if (options.MaxConcurrency < 1 || options.MaxConcurrencyPerProvider < 1)
            {
                errors.Add($"{SectionName}: concurrency limits must be at least 1.");
            }

            if (options.LeaseDuration < TimeSpan.FromSeconds(10) || options.SweepBudget <= TimeSpan.Zero || options.DefaultMargin <= TimeSpan.Zero || options.KeepAliveInterval <= TimeSpan.Zero)
            {
                errors.Add($"{SectionName}: LeaseDuration (≥ 10 s), SweepBudget, DefaultMargin and KeepAliveInterval must be positive.");
            }

            if (options.RetryInitialDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryInitialDelay || options.VaultWritesPerSecond <= 0)
            {
                errors.Add($"{SectionName}: 0 < RetryInitialDelay <= RetryMaxDelay, and VaultWritesPerSecond > 0.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}

/// <summary>Six-field NCRONTAB syntax check, kept free of a scheduler dependency (the host parses for real).</summary>
public static class NcrontabSchedule
{
    public static bool IsValid(string? expression)
    {
        var fields = expression?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is { Length: 6 } && fields.All(f => f.All(c => char.IsAsciiDigit(c) || c is '*' or '/' or ',' or '-' || char.IsAsciiLetter(c)));
    }
}
