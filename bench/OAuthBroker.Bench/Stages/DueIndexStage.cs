using System.Diagnostics;
using System.Globalization;
using Azure.Core;
using OAuthBroker.Links;
using OAuthBroker.Storage.Refresh;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Bench.Stages;

/// <summary>
/// The refresh sweep's read: with N entries in the due index (<c>TableRefreshSchedule</c>, a table of its own here),
/// 1,000 / 5,000 / 10,000 of them due, how long <c>ListDueAsync</c> takes, how many HTTP requests it sends (counted by
/// a pipeline policy) and how many entities it reads. A scan of the links would read all N every run.
/// </summary>
internal static class DueIndexStage
{
    public static async Task RunAsync(BenchContext context)
    {
        var counter = new CountingPolicy();
        var options = new TableClientOptions();
        options.AddPolicy(counter, HttpPipelinePosition.PerRetry);
        var tableClient = new TableClient(new Uri($"http://127.0.0.1:{context.Environment.Azurite.Port}/devstoreaccount1"), "BenchSchedule",
            new TableSharedKeyCredential(TableConnectionString.DevelopmentAccountName, TableConnectionString.DevelopmentAccountKey), options);
        var schedule = new TableRefreshSchedule(new TableHandle(tableClient));
        var origin = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var template = new AccountLink
        {
            UserId = "bench",
            ProviderId = "bybit",
            AccountId = "1",
            Status = LinkStatus.Active,
            CredentialName = "cred-bench",
            Scopes = [],
            HasApiKey = false,
            HasRefreshToken = true,
            CreatedAt = origin,
            UpdatedAt = origin,
        };
        var size = context.Plan.IndexSize;
        await Parallel.ForAsync(0, size, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = context.Cancellation }, async (i, ct) =>
            await schedule.AddAsync(template with { AccountId = i.ToString(CultureInfo.InvariantCulture) }, origin.AddSeconds(i), ct));
        foreach (var due in new[] { 1_000, 5_000, 10_000 })
        {
            counter.Reset();
            var clock = Stopwatch.StartNew();
            var entries = await schedule.ListDueAsync(origin.AddSeconds(due - 0.5), int.MaxValue, context.Cancellation);
            var elapsed = clock.Elapsed;
            var ratio = (double)entries.Count / due;
            context.Table.Add($"Sweep read: {size:N0} links, {due:N0} due", $"{Stats.F(elapsed.TotalMilliseconds, "0")} ms, {counter.Requests} requests",
                $"{entries.Count:N0} entities read", Stats.Ratio(ratio) + " due", "reads ≤ 1.1× due, ≥ 1× due", ratio is >= 1 and <= 1.1);
        }
    }
}
