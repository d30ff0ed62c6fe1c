using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Bench;

/// <summary>Small tools the measurements share: processes, autocannon, medians.</summary>
internal static class Measure
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string F(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Starts an executable and returns once <c>/api/health</c> answers 200; the elapsed time is the start-up.</summary>
    public static async Task<(Process Process, TimeSpan StartUp)> StartAndWaitForHealthAsync(string executable, int port, IDictionary<string, string> environment, IEnumerable<string>? arguments = null)
    {
        var start = new ProcessStartInfo(executable) { WorkingDirectory = Path.GetDirectoryName(executable)!, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/api/health"));
                if (response.IsSuccessStatusCode)
                {
                    return (process, clock.Elapsed);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{executable} exited with {process.ExitCode} before answering.", ex);
                }
            }

            await Task.Delay(5);
        }

        process.Kill(entireProcessTree: true);
        throw new TimeoutException($"{executable} did not answer /api/health within 60 s.");
    }

    public static async Task StopAsync(Process process)
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>Peak resident set (VmHWM) of a process, in MiB.</summary>
    public static double PeakRssMiB(Process process)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    public sealed record LoadResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Errors);

    /// <summary>Runs autocannon (bench/node_modules) against one URL.</summary>
    public static async Task<LoadResult> AutocannonAsync(string benchDirectory, string url, int connections, int seconds, IDictionary<string, string>? headers = null)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = benchDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(benchDirectory, "node_modules", "autocannon", "autocannon.js"), "-j", "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", seconds.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add($"{name}={value}");
        }

        start.ArgumentList.Add(url);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var json = JsonDocument.Parse(output).RootElement;
        return new LoadResult(
            json.GetProperty("requests").GetProperty("average").GetDouble(),
            json.GetProperty("latency").GetProperty("p50").GetDouble(),
            json.GetProperty("latency").GetProperty("p99").GetDouble(),
            json.GetProperty("requests").GetProperty("total").GetInt64(),
            json.GetProperty("errors").GetInt64() + json.GetProperty("timeouts").GetInt64());
    }

    public static int Port() => FreePort.Next();
}
