using System.IO.Compression;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Bench.Stages;

/// <summary>
/// Process start → first 200 from <c>/api/health</c>, the broker's published package against a bare minimal API
/// published the same way (alternating runs, medians), and the size of each deployable package.
/// </summary>
internal static class StartupStage
{
    public static async Task RunAsync(BenchContext context)
    {
        var broker = new List<double>();
        var bare = new List<double>();
        var brokerCpu = new List<double>();
        var bareCpu = new List<double>();
        for (var i = 0; i < context.Plan.StartUps; i++)
        {
            var (brokerProcess, brokerTime) = await ChildProcesses.StartAndWaitForHealthAsync(context.BrokerExecutable, FreePort.Next(), context.BrokerArguments(), context.Cancellation, BenchContext.BrokerEnvironmentVariables);
            brokerCpu.Add(ChildProcesses.CpuMilliseconds(brokerProcess));
            await ChildProcesses.StopAsync(brokerProcess);
            var (bareProcess, bareTime) = await ChildProcesses.StartAndWaitForHealthAsync(context.BareExecutable, FreePort.Next(), [], context.Cancellation);
            bareCpu.Add(ChildProcesses.CpuMilliseconds(bareProcess));
            await ChildProcesses.StopAsync(bareProcess);
            broker.Add(brokerTime.TotalMilliseconds);
            bare.Add(bareTime.TotalMilliseconds);
        }

        var ratio = Stats.Median(broker) / Stats.Median(bare);
        context.Table.Add("Start-up, published package (ms, median)", Stats.F(Stats.Median(broker), "0"), $"bare API {Stats.F(Stats.Median(bare), "0")}",
            Stats.Ratio(ratio), "≤ 1.2×", ratio <= 1.2);
        var cpuRatio = Stats.Median(brokerCpu) / Stats.Median(bareCpu);
        context.Table.Add("Start-up CPU time until the first 200 (ms, median)", Stats.F(Stats.Median(brokerCpu), "0"), $"bare API {Stats.F(Stats.Median(bareCpu), "0")} (all threads, 10 ms ticks)",
            Stats.Ratio(cpuRatio), "report (steadier than wall time on a busy machine)", null);

        if (context.StartupTraceDirectory is { } traces)
        {
            await TraceAsync(context, context.BrokerExecutable, context.BrokerArguments(), BenchContext.BrokerEnvironmentVariables, Path.Combine(traces, "broker.nettrace"));
            await TraceAsync(context, context.BareExecutable, [], new Dictionary<string, string>(), Path.Combine(traces, "bare.nettrace"));
        }

        var brokerZip = ZippedMiB(Path.GetDirectoryName(context.BrokerExecutable)!);
        var bareZip = ZippedMiB(Path.GetDirectoryName(context.BareExecutable)!);
        context.Table.Add("Deployable package, zipped (MiB)", MiB(brokerZip), $"bare API {MiB(bareZip)}; unzipped {MiB(FolderMiB(Path.GetDirectoryName(context.BrokerExecutable)!))}",
            Stats.Ratio(brokerZip / bareZip), "a fraction of 110 MB", null);
    }

    /// <summary>
    /// One more start-up with EventPipe on from the first instruction (DOTNET_ environment variables): loader, JIT,
    /// R2R and type-load events of the runtime and the ASP.NET Core hosting events, written when the process exits
    /// (bench/startup.md reads them). Tracing slows the start-up; these runs are not in the medians.
    /// </summary>
    private static async Task TraceAsync(BenchContext context, string executable, IEnumerable<string> arguments, IDictionary<string, string> variables, string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var environment = new Dictionary<string, string>(variables)
        {
            ["DOTNET_EnableEventPipe"] = "1",
            ["DOTNET_EventPipeOutputPath"] = file,
            // Runtime: AssemblyLoader 0x4, Loader 0x8, Jit 0x10, CompilationDiagnostic (R2R) 0x2000000000, TypeDiagnostic 0x8000000000; verbose.
            ["DOTNET_EventPipeConfig"] = "Microsoft-Windows-DotNETRuntime:0xA00000001C:5,Microsoft.AspNetCore.Hosting:0xFFFFFFFF:5",
        };
        var (process, _) = await ChildProcesses.StartAndWaitForHealthAsync(executable, FreePort.Next(), arguments, context.Cancellation, environment);
        await ChildProcesses.StopGracefullyAsync(process);
    }

    /// <summary>Size of the folder zipped the way infra/package.sh zips it (deflate), in MiB.</summary>
    private static double ZippedMiB(string folder)
    {
        var zip = Path.Combine(Path.GetTempPath(), "oauth-broker-bench-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            ZipFile.CreateFromDirectory(folder, zip, CompressionLevel.Optimal, includeBaseDirectory: false);
            return new FileInfo(zip).Length / 1048576.0;
        }
        finally
        {
            File.Delete(zip);
        }
    }

    private static string MiB(double value) => Stats.F(value, value < 1 ? "0.00" : "0.0");

    private static double FolderMiB(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1048576.0;
}
