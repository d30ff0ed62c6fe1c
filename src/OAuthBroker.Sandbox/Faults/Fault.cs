namespace OAuthBroker.Sandbox.Faults;

/// <param name="PathPrefix">Requests whose path starts with this are affected.</param>
/// <param name="Status">Status to answer with (0: the provider's own answer; with <see cref="FaultPhase.BeforeHandler"/>, only delay).</param>
/// <param name="Body">Body to answer with.</param>
/// <param name="ContentType">Content type of <paramref name="Body"/>.</param>
/// <param name="Delay">Wait this long (longer than the broker's timeout = a timeout).</param>
/// <param name="Times">How many requests it affects.</param>
public sealed record Fault(string PathPrefix, int Status, string Body = "", string ContentType = "text/plain", TimeSpan Delay = default, int Times = 1)
{
    private readonly TaskCompletionSource _processed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _remaining = Times;
    private int _used;

    /// <summary>Headers to add to the faulty answer (e.g. Retry-After).</summary>
    public Dictionary<string, string> Headers { get; init; } = [];

    /// <summary>Only paths that also end with this are affected (e.g. <c>/secret</c> under a prefix with ids).</summary>
    public string PathSuffix { get; init; } = "";

    /// <summary>
    /// <see cref="FaultPhase.BeforeHandler"/> (default): the delay happens before the provider sees the request, and
    /// ends when the client gives up, so nothing is processed: a request stuck on its way. <see cref="FaultPhase.AfterHandler"/>:
    /// the provider processes the request in full (a refresh token is rotated) and only the answer is delayed, dropped,
    /// cut short or replaced, whether or not the client is still there.
    /// </summary>
    public FaultPhase Phase { get; init; } = FaultPhase.BeforeHandler;

    /// <summary>With <see cref="FaultPhase.AfterHandler"/>: what becomes of the provider's answer after <see cref="Delay"/>.</summary>
    public FaultDelivery Delivery { get; init; } = FaultDelivery.Respond;

    /// <summary>How many requests the fault has affected so far (tests count provider calls with it).</summary>
    public int Used => Volatile.Read(ref _used);

    /// <summary>
    /// With <see cref="FaultPhase.AfterHandler"/>: completes once the provider has processed an affected request in full
    /// (its answer is held), so a test acts while the client still waits, not after polling <see cref="Used"/>.
    /// </summary>
    public Task Processed => _processed.Task;

    internal void MarkProcessed() => _processed.TrySetResult();

    internal bool TryUse()
    {
        if (Interlocked.Decrement(ref _remaining) < 0)
        {
            return false;
        }

        Interlocked.Increment(ref _used);
        return true;
    }
}
