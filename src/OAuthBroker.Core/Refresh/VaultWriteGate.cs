using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Errors;

namespace OAuthBroker.Refresh;

/// <summary>
/// Keeps refresh tokens from being spent while their result cannot be stored. A vault can read but not write (a
/// failover's read-only mode, a role without <c>set</c>, sustained throttling); every refresh would then spend a
/// rotating token and lose its successor. Two rules:
/// <list type="number">
/// <item>A vault-wide write failure opens a breaker shared by every instance (a row in storage, read before every
/// spend): nobody spends until it closes. It closes after a write succeeds once it has expired.</item>
/// <item>A refresh spends only when a vault write succeeded within <see cref="RefreshOptions.VaultWriteProofWindow"/>;
/// otherwise it first proves that writes work by rewriting the credential it is about to spend (same document, so
/// readers see no change). A vault that stopped taking writes while idle therefore costs no token at all.</item>
/// </list>
/// </summary>
public sealed partial class VaultWriteGate(
    IBrokerStateStore state,
    ILeaseClock clock,
    TimeProvider time,
    IOptions<RefreshOptions> options,
    ILogger<VaultWriteGate> logger)
{
    public const string StateKey = "vault-writes";

    private readonly Lock _gate = new();
    private BreakerState _known = BreakerState.Closed;
    private long? _lastWriteSucceeded;

    /// <summary>Whether spending may go on now, and whether this refresh must first prove that writes work.</summary>
    public async Task<GateCheck> CheckAsync(CT ct)
    {
        var breaker = await ReadAsync(ct);
        if (breaker.OpenUntil is { } until && until > clock.UtcNow)
        {
            return new GateCheck(false, false, until, breaker.Reason);
        }

        bool proven;
        lock (_gate)
        {
            proven = breaker.OpenUntil is null && _lastWriteSucceeded is { } at && time.GetElapsedTime(at) <= options.Value.VaultWriteProofWindow;
        }

        return new GateCheck(true, !proven, null, null);
    }

    /// <summary>A vault write succeeded: writes work. Closes an expired breaker for everyone.</summary>
    public async Task SucceededAsync(CT ct)
    {
        BreakerState known;
        lock (_gate)
        {
            _lastWriteSucceeded = time.GetTimestamp();
            known = _known;
        }

        if (known.OpenUntil is not null)
        {
            await state.SetAsync(StateKey, null, ct);
            lock (_gate)
            {
                _known = BreakerState.Closed;
            }

            LogClosed(logger);
        }
    }

    /// <summary>
    /// A write failed for the whole vault: every instance stops spending for the breaker's duration, doubling each time
    /// the first write after it fails again. Failures while it is open (writes that were already under way) change nothing.
    /// </summary>
    public async Task TripAsync(VaultFailure failure, CT ct)
    {
        var current = await ReadAsync(ct);
        if (current.OpenUntil is { } until && until > clock.UtcNow)
        {
            lock (_gate)
            {
                _lastWriteSucceeded = null;
            }

            return;
        }

        var trips = current.Trips + 1;
        var o = options.Value;
        var duration = TimeSpan.FromTicks(Math.Min(o.BreakerDuration.Ticks, o.VaultBreakerDuration.Ticks * (1L << Math.Min(trips - 1, 20))));
        var opened = new BreakerState(clock.UtcNow + duration, failure.ToString(), trips);
        lock (_gate)
        {
            _lastWriteSucceeded = null;
            _known = opened;
        }

        await state.SetAsync(StateKey, opened.Serialize(), ct);
        LogOpened(logger, failure, duration);
    }

    /// <summary>The shared state, read fresh: one Table read per spend, so a breaker opened anywhere stops spending everywhere at once.</summary>
    private async Task<BreakerState> ReadAsync(CT ct)
    {
        var read = BreakerState.Parse(await state.GetAsync(StateKey, ct));
        lock (_gate)
        {
            _known = read;
        }

        return read;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The vault refused a write ({Failure}): no refresh token is spent by any instance for {Duration}, then one write is tried again. Check the vault (failover, role assignments, throttling).")]
    private static partial void LogOpened(ILogger logger, VaultFailure failure, TimeSpan duration);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The vault takes writes again; refreshing resumes")]
    private static partial void LogClosed(ILogger logger);

    /// <summary>The shared row: until when (lease clock), why, and how many times in a row.</summary>
    private sealed record BreakerState(DateTimeOffset? OpenUntil, string? Reason, int Trips)
    {
        public static readonly BreakerState Closed = new(null, null, 0);

        public string Serialize() => string.Create(CultureInfo.InvariantCulture, $"{OpenUntil!.Value.UtcTicks}|{Trips}|{Reason}");

        public static BreakerState Parse(string? value)
        {
            var parts = value?.Split('|', 3);
            return parts is { Length: 3 } && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var ticks) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var trips)
                ? new BreakerState(new DateTimeOffset(ticks, TimeSpan.Zero), parts[2], trips)
                : Closed;
        }
    }
}
