namespace OAuthBroker.Sandbox.Faults;

/// <summary>What a provider's finished answer turns into on its way back (see <see cref="FaultEndpoints"/> for the sources).</summary>
public enum FaultDelivery
{
    /// <summary>Sent as it is, after the delay (to a client that may have given up).</summary>
    Respond,
    /// <summary>The connection is closed without an answer (a reset after the request was processed).</summary>
    Drop,
    /// <summary>Headers and half the body are sent, then the connection is closed (a truncated 2xx).</summary>
    Truncate,
    /// <summary>Replaced by the fault's <see cref="Fault.Status"/> and body (a gateway's 502/504 after the server finished).</summary>
    Replace,
}
