using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace OAuthBroker.Bench;

/// <summary>One autocannon load (bench/node_modules, pinned in bench/package.json) against one URL.</summary>
internal static class Autocannon
{
    /// <summary>
    /// Runs the load; only answers with <paramref name="expectedStatus"/> count as successes, so the rate is successes per
    /// second, and every other answer is in <see cref="LoadResult.Answers"/>.
    /// </summary>
    public static async Task<LoadResult> RunAsync(string benchDirectory, string url, int expectedStatus, int connections, int seconds,
        IDictionary<string, string>? headers, CancellationToken ct)
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
        var process = ChildProcesses.Start(start);
        try
        {
            var error = process.StandardError.ReadToEndAsync(ct);
            var output = await process.StandardOutput.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0 || output.Length == 0)
            {
                throw new InvalidOperationException($"autocannon exited with {process.ExitCode}: {(await error).Trim()}");
            }

            return Parse(JsonDocument.Parse(output).RootElement, expectedStatus);
        }
        finally
        {
            await ChildProcesses.StopAsync(process);
        }
    }

    private static LoadResult Parse(JsonElement json, int expectedStatus)
    {
        var answers = new StatusTally(expectedStatus);
        foreach (var status in json.GetProperty("statusCodeStats").EnumerateObject())
        {
            answers.Add(int.Parse(status.Name, CultureInfo.InvariantCulture), status.Value.GetProperty("count").GetInt64());
        }

        answers.AddError("connection error", json.GetProperty("errors").GetInt64() - json.GetProperty("timeouts").GetInt64());
        answers.AddError("timeout", json.GetProperty("timeouts").GetInt64());
        var duration = json.GetProperty("duration").GetDouble();
        return new LoadResult(
            duration > 0 ? answers.Expected / duration : double.NaN,
            json.GetProperty("latency").GetProperty("p50").GetDouble(),
            json.GetProperty("latency").GetProperty("p99").GetDouble(),
            answers);
    }
}

/// <summary>Expected answers per second, latency over all answers, and every answer by status.</summary>
internal sealed record LoadResult(double SuccessesPerSecond, double P50Ms, double P99Ms, StatusTally Answers);
