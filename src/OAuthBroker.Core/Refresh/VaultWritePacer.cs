using Microsoft.Extensions.Options;

namespace OAuthBroker.Refresh;

/// <summary>
/// Spaces this instance's vault writes to stay under Key Vault's write ceiling (~300 per 10 s per vault). A slot is
/// taken <b>before</b> the refresh token is spent, never between the provider's answer and the vault write (that
/// would hold a spent token only in memory while waiting), and never for longer than <see cref="RefreshOptions.PacingMaxWait"/>:
/// a refresh that would wait longer is put off, unspent. Uses the monotonic timestamp, not the wall clock: a clock
/// adjustment must not stall or burst the writes.
/// </summary>
public sealed class VaultWritePacer(IOptions<RefreshOptions> options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly long _origin = time.GetTimestamp();
    private TimeSpan _nextSlot = TimeSpan.Zero;

    /// <summary>Waits for a write slot; false, without taking one, when the wait would exceed <paramref name="maxWait"/>.</summary>
    public async Task<bool> TryReserveAsync(TimeSpan maxWait, CT ct)
    {
        var interval = TimeSpan.FromSeconds(1 / options.Value.VaultWritesPerSecond);
        TimeSpan wait;
        lock (_gate)
        {
            var now = time.GetElapsedTime(_origin);
            var slot = _nextSlot > now ? _nextSlot : now;
            wait = slot - now;
            if (wait > maxWait)
            {
                return false;
            }

            _nextSlot = slot + interval;
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, ct);
        }

        return true;
    }
}
