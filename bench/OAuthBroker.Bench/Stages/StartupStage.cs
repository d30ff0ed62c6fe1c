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
        for (var i = 0; i < context.Plan.StartUps; i++)
        {
            var (brokerProcess, brokerTime) = await ChildProcesses.StartAndWaitForHealthAsync(context.BrokerExecutable, FreePort.Next(), context.BrokerArguments(), context.Cancellation);
            await ChildProcesses.StopAsync(brokerProcess);
            var (bareProcess, bareTime) = await ChildProcesses.StartAndWaitForHealthAsync(context.BareExecutable, FreePort.Next(), [], context.Cancellation);
            await ChildProcesses.StopAsync(bareProcess);
            broker.Add(brokerTime.TotalMilliseconds);
            bare.Add(bareTime.TotalMilliseconds);
        }

        var ratio = Stats.Median(broker) / Stats.Median(bare);
        context.Table.Add("Start-up, published package (ms, median)", Stats.F(Stats.Median(broker), "0"), $"bare API {Stats.F(Stats.Median(bare), "0")}",
            Stats.Ratio(ratio), "≤ 1.2×", ratio <= 1.2);

        var brokerZip = ZippedMiB(Path.GetDirectoryName(context.BrokerExecutable)!);
        var bareZip = ZippedMiB(Path.GetDirectoryName(context.BareExecutable)!);
        context.Table.Add("Deployable package, zipped (MiB)", Stats.F(brokerZip), $"bare API {Stats.F(bareZip)}; unzipped {Stats.F(FolderMiB(Path.GetDirectoryName(context.BrokerExecutable)!))}",
            Stats.Ratio(brokerZip / bareZip), "a fraction of 110 MB", null);
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

    private static double FolderMiB(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1048576.0;
}
