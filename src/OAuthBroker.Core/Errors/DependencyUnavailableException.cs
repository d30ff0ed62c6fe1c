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

/// <summary>The credential vault failed in a way the caller cannot fix: throttled, down, timed out, or refusing writes.</summary>
public sealed class VaultUnavailableException : Exception
{
    public VaultUnavailableException() : base("The vault is unavailable.") { }
    public VaultUnavailableException(string message) : base(message) { }
    public VaultUnavailableException(string message, Exception inner) : base(message, inner) { }
    public VaultUnavailableException(string message, VaultFailure failure, Exception? inner = null) : base(message, inner) => Failure = failure;

    /// <summary>What kind of failure, so the refresh engine can tell a vault that refuses all writes from one secret's problem.</summary>
    public VaultFailure Failure { get; } = VaultFailure.Unavailable;
}
