namespace OAuthBroker.Events;

/// <summary>What <see cref="IProviderCredentialsState.TransitionAsync"/> did with a provider's credentials transition.</summary>
public enum TransitionOutcome
{
    /// <summary>This call recorded it as the provider's state (and appended it to the log, or left it for recovery).</summary>
    Recorded,

    /// <summary>The shared state already was it (another instance recorded it), or it is an acceptance with no rejection before it.</summary>
    AlreadySo,

    /// <summary>
    /// Not recorded, and the state may be another: other instances' transitions kept coming in over this call's, or one came
    /// in after it read the state. The caller should not count on the state being this transition's.
    /// </summary>
    NotRecorded,
}
