using System.Collections.Concurrent;

namespace OAuthBroker.Refresh;

/// <summary>
/// One provider-wide failure instead of one per link: when a provider rejects the broker's own client credentials
/// (invalid_client / unauthorized_client), every link of that provider would fail the same way, so the provider is
/// left alone for a while and the operator gets one log line.
/// </summary>
public sealed class ProviderBreaker(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _openUntil = new(StringComparer.Ordinal);

    public bool IsOpen(string providerId) => _openUntil.TryGetValue(providerId, out var until) && until > time.GetUtcNow();

    /// <summary>Opens the breaker; true only for the call that opened it (the one that should alert).</summary>
    public bool Trip(string providerId, TimeSpan duration)
    {
        var until = time.GetUtcNow() + duration;
        var opened = false;
        _openUntil.AddOrUpdate(providerId, _ =>
        {
            opened = true;
            return until;
        }, (_, existing) =>
        {
            opened = existing <= time.GetUtcNow();
            return opened ? until : existing;
        });
        return opened;
    }

    /// <summary>Closes the breaker (an operator fixed the credentials).</summary>
    public void Reset(string providerId) => _openUntil.TryRemove(providerId, out _);

    public DateTimeOffset? OpenUntil(string providerId) => _openUntil.TryGetValue(providerId, out var until) && until > time.GetUtcNow() ? until : null;
}

/// <summary>
/// Spaces this instance's vault writes to stay under Key Vault's write ceiling (~300 per 10 s per vault). Uses the
/// monotonic timestamp, not the wall clock: a clock adjustment must not stall or burst the writes.
/// </summary>
public sealed class VaultWritePacer(Microsoft.Extensions.Options.IOptions<RefreshOptions> options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly long _origin = time.GetTimestamp();
    private TimeSpan _nextSlot = TimeSpan.Zero;

    public Task WaitAsync(CT ct)
    {
        var interval = TimeSpan.FromSeconds(1 / options.Value.VaultWritesPerSecond);
        TimeSpan wait;
        lock (_gate)
        {
            var now = time.GetElapsedTime(_origin);
            var slot = _nextSlot > now ? _nextSlot : now;
            _nextSlot = slot + interval;
            wait = slot - now;
        }

        return wait > TimeSpan.Zero ? Task.Delay(wait, time, ct) : Task.CompletedTask;
    }
}
