using System.Collections.Concurrent;

namespace OAuthBroker.Sandbox.Faults;

/// <summary>
/// Scripted misbehaviour for fault tests: the next N requests under a path answer with a given status and body, only
/// after a delay, or are processed first and then answered late, not at all, cut short or replaced. Set in-process by
/// tests, or over HTTP at <c>/_sandbox/faults</c>.
/// </summary>
public sealed class FaultInjector
{
    private readonly ConcurrentQueue<Fault> _faults = new();

    public void Add(Fault fault) => _faults.Enqueue(fault);

    public void Clear() => _faults.Clear();

    /// <summary>Takes one use of the first fault that applies to <paramref name="path"/>.</summary>
    public Fault? Take(string path)
    {
        foreach (var fault in _faults)
        {
            if (path.StartsWith(fault.PathPrefix, StringComparison.Ordinal) && path.EndsWith(fault.PathSuffix, StringComparison.Ordinal) && fault.TryUse())
            {
                return fault;
            }
        }

        return null;
    }
}
