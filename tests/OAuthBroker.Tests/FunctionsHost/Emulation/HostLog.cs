using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>One entry of the host's log (what Application Insights and the log stream would show).</summary>
public sealed record HostLogEntry(LogLevel Level, string Category, string Message);

public sealed class HostLog
{
    private readonly ConcurrentQueue<HostLogEntry> _entries = new();

    public IReadOnlyList<HostLogEntry> Entries => _entries.ToArray();

    public void Add(LogLevel level, string category, string message) => _entries.Enqueue(new HostLogEntry(level, category, message));

    /// <summary>
    /// Waits, up to <paramref name="timeout"/>, until an entry matches. The handler's console reaches the log through
    /// asynchronous pipe readers (<see cref="WorkerProcess"/>, like the host's own), so a line the handler wrote while
    /// answering can arrive after the answer did; on a loaded machine it often does.
    /// </summary>
    public async Task<bool> WaitForAsync(Func<HostLogEntry, bool> match, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!_entries.Any(match))
        {
            if (DateTime.UtcNow >= until)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>
    /// A line the handler wrote: stdout at Information; stderr at Warning when it contains "warn", else at Error, since a
    /// custom handler's stderr is for errors only (<c>Workers/ProcessManagement/WorkerProcess.cs:112-148,198-204</c>,
    /// <c>Workers/Http/HttpWorkerDescription.cs:20</c>).
    /// </summary>
    public void AddWorkerLine(string line, bool fromStandardError) =>
        Add(!fromStandardError ? LogLevel.Information : line.Contains("warn", StringComparison.OrdinalIgnoreCase) ? LogLevel.Warning : LogLevel.Error,
            "Host.Function.Console", line);
}
