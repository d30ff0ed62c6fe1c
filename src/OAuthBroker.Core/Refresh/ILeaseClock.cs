namespace OAuthBroker.Refresh;

/// <summary>
/// The clock leases are written and judged by. Every instance reads the same one, the storage service's
/// (Table responses carry its <c>Date</c>, RFC 9110 §6.6.1), so one instance's clock running ahead can neither pin a
/// lease for longer than it should last nor take one over early. Only lease arithmetic uses it; expiry of tokens
/// stays on <see cref="TimeProvider"/>.
/// </summary>
public interface ILeaseClock
{
    /// <summary>The storage service's current time, as well as this instance can tell (never ahead of it by more than a moment).</summary>
    DateTimeOffset UtcNow { get; }
}
