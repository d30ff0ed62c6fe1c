namespace OAuthBroker.Events;

/// <summary>
/// Whether a provider last rejected or accepted the broker's client credentials, shared by every instance: each
/// instance's breaker opens on its own, but one logical transition is one event, whichever instances saw it.
/// </summary>
public interface IProviderCredentialsState
{
    /// <summary>
    /// Records <paramref name="transition"/> (a <see cref="LinkEventTypes.ProviderCredentialsRejected"/> or
    /// <see cref="LinkEventTypes.ProviderCredentialsAccepted"/> event) as the provider's state and appends it to the log,
    /// unless the shared state already is that (another instance recorded it), or it is an acceptance with no rejection
    /// before it (<see cref="TransitionOutcome"/>).
    /// </summary>
    Task<TransitionOutcome> TransitionAsync(LinkEvent transition, CT ct);
}
