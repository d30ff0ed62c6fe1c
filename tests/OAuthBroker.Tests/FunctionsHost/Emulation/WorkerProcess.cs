using System.Diagnostics;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// The custom handler as the host starts it: the executable from host.json, in the working directory host.json names
/// (the script root by default), with the host's environment (the app settings) plus the port and worker variables
/// (<c>Workers/Http/HttpWorkerProcess.cs:48-65</c>, <c>Workers/Http/HttpWorkerConstants.cs:14-18</c>; started without a
/// shell, <c>Workers/ProcessManagement/DefaultWorkerProcessFactory.cs</c>). The port is a free one picked by the host
/// (<c>HttpWorkerOptionsSetup.cs:112</c>). Every output line goes to the host's log.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public bool HasExited => _process.HasExited;

    public static WorkerProcess Start(ScriptRoot root, AppSettings settings, HostLog log)
    {
        var port = FreePort.Next();
        var workerId = Guid.NewGuid().ToString();
        var (executable, workingDirectory, arguments) = root.Worker;
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in settings.Values)
        {
            start.Environment[name] = value;
        }

        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["FUNCTIONS_HTTPWORKER_PORT"] = portText;
        start.Environment["FUNCTIONS_HTTPWORKER_ID"] = workerId;
        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = portText;
        start.Environment["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"] = workerId;
        start.Environment["FUNCTIONS_APP_ROOT_PATH"] = root.Path;

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.AddWorkerLine(e.Data, fromStandardError: false);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.AddWorkerLine(e.Data, fromStandardError: true);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process, port);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
