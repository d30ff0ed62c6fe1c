using System.Collections.Concurrent;
using System.Diagnostics;

namespace OAuthBroker.Bench.Stages;

/// <summary>
/// Full Bybit link flows, 4 at once: authorize → sandbox consent → callback (code exchange, UID, OpenAPI key; a
/// pending link) → completion step (the link made active; a vault write over HTTPS to the local Key Vault and Table
/// reads and writes in Azurite along the way). A flow counts only when it ends linked; the accounts it linked are what
/// the credential and refresh stages use.
/// </summary>
internal static class LinkFlowStage
{
    public const int Parallel = 4;

    public static async Task RunAsync(BenchContext context, Uri broker)
    {
        var results = new ConcurrentBag<LinkFlowResult>();
        var clock = Stopwatch.StartNew();
        await System.Threading.Tasks.Parallel.ForAsync(0, context.Plan.Flows, new ParallelOptions { MaxDegreeOfParallelism = Parallel, CancellationToken = context.Cancellation },
            async (i, ct) => results.Add(await LinkFlow.RunAsync(broker, "bench-user-" + i, 100_000_000 + i, ct)));
        var elapsed = clock.Elapsed;

        var answers = new StatusTally(0);
        foreach (var result in results)
        {
            if (result.Error is null)
            {
                answers.AddExpected();
                context.Linked.Add((result.User, result.Account));
            }
            else
            {
                answers.AddError(result.Error);
            }
        }

        var linked = results.Where(r => r.Error is null).ToList();
        context.Table.Add($"Full link flow, {Parallel} at once (linked/s)", Stats.F(answers.Expected / elapsed.TotalSeconds),
            $"{answers.Expected} of {context.Plan.Flows} linked; median ms: broker authorize {Stats.F(Stats.Median(linked.Select(s => s.AuthorizeMs)), "0")}, provider consent {Stats.F(Stats.Median(linked.Select(s => s.ConsentMs)), "0")}, callback {Stats.F(Stats.Median(linked.Select(s => s.CallbackMs)), "0")}, complete {Stats.F(Stats.Median(linked.Select(s => s.CompleteMs)), "0")}",
            "", "report", null, answers);
    }
}
