using System.Diagnostics;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Support;

/// <summary>The broker's handler as its own process, as the Functions host (or a second instance) runs it.</summary>
public sealed class HandlerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private HandlerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The last lines the process wrote (stdout and stderr), for a failing test's message.</summary>
    public string RecentOutput => string.Join('\n', _output);

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    public Uri Uri => new($"http://127.0.0.1:{Port}/");

    /// <summary>
    /// The host project's build output for the configuration the tests were built in: a Functions script root
    /// (tests/OAuthBroker.Tests/bin/{Configuration}/net10.0/ → src/OAuthBroker.Host/bin/{Configuration}/net10.0/).
    /// </summary>
    public static string ScriptRoot
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            return Path.Combine(RepositoryRoot.Find(), "src", "OAuthBroker.Host", "bin", output.Parent!.Name, output.Name);
        }
    }

    public static string BuiltExecutable => Path.Combine(ScriptRoot, "OAuthBroker.Host");

    /// <summary>Starts the executable on a free port and returns once it accepts connections.</summary>
    /// <param name="functionsHostPort">Listen as a custom handler (<c>FUNCTIONS_CUSTOMHANDLER_PORT</c>) rather than with <c>--urls</c>.</param>
    public static async Task<HandlerProcess> StartAsync(string executable, IDictionary<string, string>? environment = null, IEnumerable<string>? arguments = null, bool functionsHostPort = false)
    {
        var port = FreePort.Next();
        var start = new ProcessStartInfo(executable) { WorkingDirectory = Path.GetDirectoryName(executable)!, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        if (functionsHostPort)
        {
            start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            start.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var handler = new HandlerProcess(process, port);
        process.OutputDataReceived += (_, line) => handler.Remember(line.Data);
        process.ErrorDataReceived += (_, line) => handler.Remember(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await FreePort.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(30), () => !process.HasExited);
        }
        catch
        {
            await handler.DisposeAsync();
            throw;
        }

        return handler;
    }

    /// <summary>
    /// Stops the process where it is (SIGSTOP), as a frozen VM, a long pause or a starved container does: its timers
    /// do not fire and its connections stay open; the rest of the world goes on. <see cref="ResumeAsync"/> lets it go on.
    /// </summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>Lets a paused process go on (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        kill.ExitCode.ShouldBe(0, $"kill {signal} of the broker process");
    }

    /// <summary>Kills the process tree (a crash, as far as the broker can tell).</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
