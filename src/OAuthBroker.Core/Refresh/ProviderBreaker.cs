using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OAuthBroker.Errors;
using OAuthBroker.Events;

namespace OAuthBroker.Refresh;

/// <summary>
/// One provider-wide failure instead of one per link: when a provider rejects the broker's own client credentials
/// (invalid_client / unauthorized_client), every link of that provider would fail the same way, so the provider is
/// left alone for a while and the operator gets one log line. The platform hears of it too: an event when the breaker
/// opens, and one when the provider next accepts a refresh.
/// </summary>
public sealed partial class ProviderBreaker(TimeProvider time, IEventLog events, ILogger<ProviderBreaker> logger)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _openUntil = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _unconfirmed = new(StringComparer.Ordinal);

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

    /// <summary><see cref="Trip"/>, and when it opened the breaker, a <see cref="LinkEventTypes.ProviderCredentialsRejected"/> event.</summary>
    public async Task<bool> TripAsync(string providerId, TimeSpan duration, string reason, CT ct)
    {
        if (!Trip(providerId, duration))
        {
            return false;
        }

        _unconfirmed[providerId] = true;
        var now = time.GetUtcNow();
        await AppendAsync(LinkEvents.ProviderWide(providerId, LinkEventTypes.ProviderCredentialsRejected, now, reason, now + duration), ct);
        return true;
    }

    /// <summary>A refresh at the provider succeeded: after a rejection, a <see cref="LinkEventTypes.ProviderCredentialsAccepted"/> event (once).</summary>
    public async Task ConfirmAsync(string providerId, CT ct)
    {
        if (_unconfirmed.TryRemove(providerId, out _))
        {
            await AppendAsync(LinkEvents.ProviderWide(providerId, LinkEventTypes.ProviderCredentialsAccepted, time.GetUtcNow()), ct);
        }
    }

    /// <summary>Closes the breaker (an operator fixed the credentials).</summary>
    public void Reset(string providerId) => _openUntil.TryRemove(providerId, out _);

    public DateTimeOffset? OpenUntil(string providerId) => _openUntil.TryGetValue(providerId, out var until) && until > time.GetUtcNow() ? until : null;

    private async Task AppendAsync(LinkEvent e, CT ct)
    {
        try
        {
            await events.AppendAsync(e, ct);
        }
        catch (StorageUnavailableException)
        {
            // Note: the breaker itself lives in this instance's memory; its event is as durable as it can be, and the
            // refresh that tripped it must not fail for want of storage. The operator still has the log line.
            LogEventLost(logger, e.Type, e.ProviderId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record the {EventType} event for {ProviderId}: storage unavailable")]
    private static partial void LogEventLost(ILogger logger, string eventType, string providerId);
}
