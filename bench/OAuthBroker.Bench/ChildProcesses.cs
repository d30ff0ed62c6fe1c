using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace OAuthBroker.Bench;

/// <summary>
/// Every process the benchmark starts goes through here, so each one is stopped by its process id, whether the run
/// ends, fails or is interrupted (SIGTERM/SIGINT from CI's time limit).
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    /// <summary>The last lines each drained process wrote, so a failure to start can say why.</summary>
    private static readonly ConcurrentDictionary<int, ConcurrentQueue<string>> Tails = new();

    public static Process Start(ProcessStartInfo start)
    {
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        Running[process.Id] = process;
        return process;
    }

    /// <summary>Starts a process whose output nobody reads (drained, so it never blocks on a full pipe).</summary>
    public static Process StartDrained(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var process = Start(start);
        var tail = Tails.GetOrAdd(process.Id, _ => new ConcurrentQueue<string>());
        // BENCH_CHILD_LOGS=DIR keeps every line each process writes, for finding out why a stage failed.
        var log = Environment.GetEnvironmentVariable("BENCH_CHILD_LOGS") is { Length: > 0 } directory
            ? TextWriter.Synchronized(new StreamWriter(Path.Combine(Directory.CreateDirectory(directory).FullName, $"{Path.GetFileName(start.FileName)}-{process.Id}.log")) { AutoFlush = true })
            : null;
        void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            log?.WriteLine(line);
            tail.Enqueue(line);
            while (tail.Count > 30 && tail.TryDequeue(out _))
            {
            }
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task StopAsync(Process process)
    {
        Kill(process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Killed but slow to be reaped; it is gone from our list either way.
        }

        Running.TryRemove(process.Id, out _);
        Tails.TryRemove(process.Id, out _);
        process.Dispose();
    }

    /// <summary>
    /// Asks a process to shut down (SIGTERM, what the Functions host sends) and waits for it, so what it writes at exit
    /// (an EventPipe trace file) is complete; kills it if it has not exited within 30 s.
    /// </summary>
    public static async Task StopGracefullyAsync(Process process)
    {
        if (!process.HasExited && SendSignal(process.Id, Sigterm) == 0)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Falls through to the kill below.
            }
        }

        await StopAsync(process);
    }

    /// <summary>Last resort on interruption: kill what is still running, by id, without waiting.</summary>
    public static void KillAll()
    {
        foreach (var process in Running.Values)
        {
            Kill(process);
        }
    }

    /// <summary>Starts an executable and returns once <c>/api/health</c> answers 200; the elapsed time is the start-up.</summary>
    public static async Task<(Process Process, TimeSpan StartUp)> StartAndWaitForHealthAsync(string executable, int port, IEnumerable<string> arguments, CancellationToken ct,
        IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(executable) { WorkingDirectory = Path.GetDirectoryName(executable)! };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The Functions host's contract: the handler listens on 127.0.0.1 at this port.
        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        var process = StartDrained(start);
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/api/health"), ct);
                    if (response.IsSuccessStatusCode)
                    {
                        return (process, clock.Elapsed);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or SocketException || (ex is TaskCanceledException && !ct.IsCancellationRequested))
                {
                    if (process.HasExited)
                    {
                        throw new InvalidOperationException($"{executable} exited with {process.ExitCode} before answering /api/health. Its last output:{Environment.NewLine}{TailOf(process)}", ex);
                    }
                }

                await Task.Delay(5, ct);
            }

            throw new TimeoutException($"{executable} did not answer /api/health within 60 s.");
        }
        catch
        {
            await StopAsync(process);
            throw;
        }
    }

    /// <summary>
    /// CPU time the process has used so far (user + system, all its threads; /proc/PID/stat fields 14 and 15, in clock
    /// ticks of 10 ms). Unlike wall time it does not grow while the process waits for a core another process holds.
    /// </summary>
    public static double CpuMilliseconds(Process process)
    {
        var stat = File.ReadAllText($"/proc/{process.Id}/stat");
        // The command name (field 2) may contain spaces; the fields after it start after its closing parenthesis.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
    }

    /// <summary>Peak resident set (VmHWM) of a process, in MiB.</summary>
    public static double PeakRssMiB(Process process)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    private static string TailOf(Process process) =>
        Tails.TryGetValue(process.Id, out var tail) ? string.Join(Environment.NewLine, tail) : "(none)";

    private const int Sigterm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }
}
