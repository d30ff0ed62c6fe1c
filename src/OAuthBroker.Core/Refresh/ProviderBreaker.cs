using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OAuthBroker.Errors;
using OAuthBroker.Events;

namespace OAuthBroker.Refresh;

/// <summary>
/// One provider-wide failure instead of one per link: when a provider rejects the broker's own client credentials
/// (invalid_client / unauthorized_client), every link of that provider would fail the same way, so the provider is
/// left alone for a while and the operator gets one log line. The breaker is this instance's; the platform hears of the
/// transition once, whichever instances see it (<see cref="IProviderCredentialsState"/>): an event when a provider
/// first rejects the credentials, and one when it first accepts a refresh again.
/// </summary>
public sealed partial class ProviderBreaker(TimeProvider time, IProviderCredentialsState shared, ILogger<ProviderBreaker> logger)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _openUntil = new(StringComparer.Ordinal);

    /// <summary>
    /// How long this instance trusts that the shared state says "accepted" after it checked: another instance may record
    /// a rejection meanwhile (a configuration change that reached it first), and a success here should then close it.
    /// </summary>
    private static readonly TimeSpan RecheckAfter = TimeSpan.FromMinutes(1);

    /// <summary>When this instance last settled each provider's acceptance (a timestamp); none since it started or saw a rejection.</summary>
    private readonly ConcurrentDictionary<string, long> _confirmed = new(StringComparer.Ordinal);

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

    /// <summary>
    /// <see cref="Trip"/>, and when it opened the breaker, a <see cref="LinkEventTypes.ProviderCredentialsRejected"/>
    /// event unless another instance already recorded the rejection.
    /// </summary>
    public async Task<bool> TripAsync(string providerId, TimeSpan duration, string reason, CT ct)
    {
        if (!Trip(providerId, duration))
        {
            return false;
        }

        _confirmed.TryRemove(providerId, out _);
        var now = time.GetUtcNow();
        await RecordAsync(LinkEvents.ProviderWide(providerId, LinkEventTypes.ProviderCredentialsRejected, now, reason, now + duration), ct);
        return true;
    }

    /// <summary>
    /// A refresh at the provider succeeded. The first time since this instance started, saw a rejection or last checked
    /// (<see cref="RecheckAfter"/>), a <see cref="LinkEventTypes.ProviderCredentialsAccepted"/> event if the shared state
    /// says rejected (one storage read).
    /// </summary>
    public async Task ConfirmAsync(string providerId, CT ct)
    {
        if (_confirmed.TryGetValue(providerId, out var checkedAt) && time.GetElapsedTime(checkedAt) < RecheckAfter)
        {
            return;
        }

        var now = time.GetTimestamp();
        if (await RecordAsync(LinkEvents.ProviderWide(providerId, LinkEventTypes.ProviderCredentialsAccepted, time.GetUtcNow()), ct))
        {
            _confirmed[providerId] = now;
        }
    }

    /// <summary>Closes the breaker (an operator fixed the credentials).</summary>
    public void Reset(string providerId) => _openUntil.TryRemove(providerId, out _);

    public DateTimeOffset? OpenUntil(string providerId) => _openUntil.TryGetValue(providerId, out var until) && until > time.GetUtcNow() ? until : null;

    /// <summary>
    /// True when the shared state is the transition's now (this call recorded it, or it already was); false when it was
    /// not recorded (other instances' transitions came in over it) or storage could not be reached.
    /// </summary>
    private async Task<bool> RecordAsync(LinkEvent transition, CT ct)
    {
        try
        {
            if (await shared.TransitionAsync(transition, ct) == TransitionOutcome.NotRecorded)
            {
                // Note: another instance's transition came in over (or after) ours; an acceptance is tried again on the next
                // successful refresh, so the shared state does not stay rejected until the recheck.
                LogNotRecorded(logger, transition.Type, transition.ProviderId);
                return false;
            }

            return true;
        }
        catch (StorageUnavailableException)
        {
            // Note: the refresh that tripped (or confirmed) must not fail for want of storage. The operator still has the
            // breaker's log line; an acceptance is tried again on the next successful refresh.
            LogEventLost(logger, transition.Type, transition.ProviderId);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The {EventType} event for {ProviderId} was not recorded: other instances changed the provider's state at the same time")]
    private static partial void LogNotRecorded(ILogger logger, string eventType, string providerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record the {EventType} event for {ProviderId}: storage unavailable")]
    private static partial void LogEventLost(ILogger logger, string eventType, string providerId);
}
