namespace OAuthBroker.Sandbox.Faults;

/// <summary>Where a fault acts: before the provider sees the request, or on its finished answer (see <see cref="Fault.Phase"/>).</summary>
public enum FaultPhase
{
    BeforeHandler,
    AfterHandler,
}
