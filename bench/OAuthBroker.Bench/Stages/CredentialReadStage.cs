using System.Diagnostics;

namespace OAuthBroker.Bench.Stages;

/// <summary>
/// <c>GET /api/links/bybit/{uid}/credential</c> with the backend key, cache warm, 16 connections; only 200 counts.
/// Then the broker process's peak RSS (VmHWM) after all the loads.
/// </summary>
internal static class CredentialReadStage
{
    private const int Ok = 200;

    public static async Task RunAsync(BenchContext context, Uri broker, Process brokerProcess)
    {
        if (context.Linked.Count == 0)
        {
            throw new InvalidOperationException("No account was linked, so there is no credential to read.");
        }

        var (user, account) = context.Linked[0];
        var url = new Uri(broker, $"api/links/bybit/{account}/credential?userId={user}").AbsoluteUri;
        var backendKey = new Dictionary<string, string> { ["X-Api-Key"] = context.Settings.BackendKey };
        await Autocannon.RunAsync(context.BenchDirectory, url, Ok, BenchPlan.Connections, 2, backendKey, context.Cancellation);
        var reads = new List<LoadResult>();
        for (var i = 0; i < context.Plan.LoadRepeats; i++)
        {
            reads.Add(await Autocannon.RunAsync(context.BenchDirectory, url, Ok, BenchPlan.Connections, context.Plan.LoadSeconds, backendKey, context.Cancellation));
        }

        var answers = new StatusTally(Ok);
        reads.ForEach(r => answers.AddAll(r.Answers));
        var rate = Stats.Median(reads.Select(r => r.SuccessesPerSecond));
        context.Table.Add($"Credential reads, cache warm, {BenchPlan.Connections} conn. (200/s)", Stats.F(rate, "0"),
            $"p50 / p99 {Stats.F(Stats.Median(reads.Select(r => r.P50Ms)), "0")} / {Stats.F(Stats.Median(reads.Select(r => r.P99Ms)), "0")} ms", "", "≥ 5,000/s", rate >= 5000, answers);
        context.Table.Add("Broker peak RSS after the loads (MiB)", Stats.F(ChildProcesses.PeakRssMiB(brokerProcess), "0"), "", "", "report", null);
    }
}
