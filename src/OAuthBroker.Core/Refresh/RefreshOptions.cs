using Microsoft.Extensions.Options;

namespace OAuthBroker.Refresh;

/// <summary>The token lifecycle (section <c>Refresh</c>).</summary>
public sealed class RefreshOptions
{
    public const string SectionName = "Refresh";

    /// <summary>
    /// Six-field NCRONTAB schedule of the sweep (seconds first), UTC. Default every minute: with the default budgets the
    /// next run acts on a pending WhiteBIT key within 389 s under the Functions timer and 449 s standalone, inside its
    /// 600 s refresh token (<c>PendingRenewalHorizon</c>; start-up checks it, <c>PendingRenewalFit</c>).
    /// </summary>
    public string Schedule { get; set; } = "0 * * * * *";

    /// <summary>Refresh this long before the access token expires (capped at half its lifetime). Default 5 min; per provider <c>Providers:{id}:RefreshMargin</c>.</summary>
    public TimeSpan DefaultMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Refresh at least this often even when the access token lasts longer, so idle refresh tokens stay alive. Default 24 h.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long one sweep may launch work before it stops and leaves the rest to the next run. Default 45 s: less than the
    /// minute between runs, and short enough that a pending WhiteBIT key is reached in time (see <see cref="Schedule"/>).
    /// </summary>
    public TimeSpan SweepBudget { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How long the housekeeping tasks after a sweep may run (see <c>Scheduling/IHousekeepingTask</c>). Default 30 s.</summary>
    public TimeSpan HousekeepingBudget { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Refreshes running at once, overall. Default 8.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Refreshes running at once against one provider's token endpoint. Default 2.</summary>
    public int MaxConcurrencyPerProvider { get; set; } = 2;

    /// <summary>
    /// How long a refresher holds a link. Checked at start-up against everything a spend can take (see
    /// <see cref="LeaseBudget"/>): pacing, the provider calls, the vault write with its retries, and the clock allowance.
    /// The lease is renewed right before the spend. Default 2 min.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Timeout of each provider call made by a refresh (instead of <c>Broker:ProviderTimeout</c>): an answer that comes
    /// after the broker gave up leaves the refresh token possibly spent, so refresh calls get longer. A spend may take
    /// two calls (Bybit's client_secret fallback, a generic provider's discovery). Default 30 s.
    /// </summary>
    public TimeSpan RefreshCallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest wait to connect to a provider (TCP and TLS), for every provider call. Below <see cref="RefreshCallTimeout"/>
    /// so that a provider whose network silently drops connection attempts fails as "connect timeout" (known not sent,
    /// retried later) rather than running into the call's timeout. Default: half of <see cref="RefreshCallTimeout"/>, at most 10 s.
    /// </summary>
    public TimeSpan? ProviderConnectTimeout { get; set; }

    /// <summary>The connect timeout in force (<see cref="ProviderConnectTimeout"/> or its default).</summary>
    public TimeSpan ConnectTimeout => ProviderConnectTimeout ?? (RefreshCallTimeout / 2 < TimeSpan.FromSeconds(10) ? RefreshCallTimeout / 2 : TimeSpan.FromSeconds(10));

    /// <summary>
    /// Margin for clocks: lease times come from the storage service's clock, which each instance knows only to about a
    /// second (the <c>Date</c> header's resolution) plus a round trip. A holder stops starting work this long before
    /// its lease ends. Default 5 s.
    /// </summary>
    public TimeSpan ClockAllowance { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait for a vault-write slot (<see cref="VaultWritesPerSecond"/>); it is taken before spending, and a refresh that would wait longer is put off instead. Default 5 s.</summary>
    public TimeSpan PacingMaxWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a successful vault write counts as proof that the vault takes writes. A refresh that starts later first
    /// proves it again by rewriting the credential it is about to spend, so a vault that stopped taking writes costs no
    /// token. Default 5 s.
    /// </summary>
    public TimeSpan VaultWriteProofWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long all spending stops, across instances, after the vault refused a write; doubles per consecutive failure up to <see cref="BreakerDuration"/>. Default 1 min.</summary>
    public TimeSpan VaultBreakerDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Versions one secret may hold before the credential moves to a fresh secret name (Key Vault cannot back up a
    /// secret with more than 500 versions, and single versions cannot be deleted). Default 400.
    /// </summary>
    public int MaxCredentialVersions { get; set; } = 400;

    /// <summary>
    /// Largest credential document (UTF-8 JSON) a refresh will spend for. Key Vault holds at most 25 KB per secret; the
    /// rest is headroom for the new tokens being longer. Default 21,504 bytes.
    /// </summary>
    public int MaxCredentialBytes { get; set; } = 21 * 1024;

    /// <summary>Least time between two refreshes of one link (a refresh that could not move an expiry is not repeated at once). Default 1 min.</summary>
    public TimeSpan MinRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Age after which a secret no link points at is an orphan (a callback that never wrote its row, a failed discard, a
    /// re-link's superseded grant) and the janitor revokes and erases it. Longer than any callback or refresh. Default 1 h.
    /// </summary>
    public TimeSpan OrphanGracePeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Credentials one instance keeps in memory at most (without refresh tokens). Default 10,000.</summary>
    public int CredentialCacheCapacity { get; set; } = 10_000;

    /// <summary>Everything a refresher must fit into its lease (<see cref="LeaseBudget"/>) needs the vault's worst case write too.</summary>
    public LeaseBudget BudgetWith(TimeSpan vaultWrite) => new(PacingMaxWait, RefreshCallTimeout * LeaseBudget.CallsPerSpend, vaultWrite, ClockAllowance);

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

            if (options.RefreshCallTimeout <= TimeSpan.Zero || options.ClockAllowance < TimeSpan.FromSeconds(2) || options.PacingMaxWait < TimeSpan.Zero
                || options.VaultWriteProofWindow < TimeSpan.Zero || options.VaultBreakerDuration <= TimeSpan.Zero || options.MinRefreshInterval < TimeSpan.Zero
                || options.OrphanGracePeriod <= TimeSpan.Zero)
            {
                errors.Add($"{SectionName}: RefreshCallTimeout, VaultBreakerDuration and OrphanGracePeriod must be positive, ClockAllowance at least 2 s (the storage clock is known to about a second), PacingMaxWait, VaultWriteProofWindow and MinRefreshInterval not negative.");
            }

            if (options.ProviderConnectTimeout is { } connect && (connect <= TimeSpan.Zero || connect >= options.RefreshCallTimeout))
            {
                errors.Add($"{SectionName}:ProviderConnectTimeout must be positive and shorter than RefreshCallTimeout ({options.RefreshCallTimeout}).");
            }

            if (options.MaxCredentialVersions is < 3 or > 490 || options.MaxCredentialBytes is < 512 or > 25 * 1024 || options.CredentialCacheCapacity < 1)
            {
                errors.Add($"{SectionName}: MaxCredentialVersions must be 3–490 (Key Vault backs up at most 500), MaxCredentialBytes 512–25,600 (its secret size limit), CredentialCacheCapacity at least 1.");
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
