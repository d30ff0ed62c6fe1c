namespace OAuthBroker.Errors;

/// <summary>
/// Storage (links, flows) failed in a way the caller cannot fix: throttled, down, timed out. Adapters throw it
/// instead of their SDK's exception so the core stays free of Azure types.
/// </summary>
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException() : base("Storage is unavailable.") { }
    public StorageUnavailableException(string message) : base(message) { }
    public StorageUnavailableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The credential vault failed in a way the caller cannot fix: throttled, down, timed out.</summary>
public sealed class VaultUnavailableException : Exception
{
    public VaultUnavailableException() : base("The vault is unavailable.") { }
    public VaultUnavailableException(string message) : base(message) { }
    public VaultUnavailableException(string message, Exception inner) : base(message, inner) { }
}
