namespace OAuthBroker.LocalKeyVault;

/// <summary>
/// A vault slow to take writes (set, delete, purge, recover), the way any server is slow: it finishes a request it fully
/// received whether or not the client is still there (the ASP.NET Core host only signals <c>RequestAborted</c>, it does
/// not stop a handler that does not observe it). Azure.Core gives up on an attempt after <c>RetryOptions.NetworkTimeout</c>
/// and may send another, so a write can commit after its client stopped waiting, and after a later write.
/// </summary>
/// <param name="Delay">How long the write is held up.</param>
/// <param name="CommitLate">True: the write waits, then commits and answers (it lands late). False: it commits at once
/// and only the answer waits.</param>
/// <param name="Method">Only requests with this method (e.g. <c>DELETE</c>); null: every write.</param>
public sealed record SlowWrite(TimeSpan Delay, bool CommitLate, string? Method = null);
