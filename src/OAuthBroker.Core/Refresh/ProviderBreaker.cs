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
