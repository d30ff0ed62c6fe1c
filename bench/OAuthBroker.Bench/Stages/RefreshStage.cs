using System.Text.Json;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Refresh;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Bench.Stages;

/// <summary>
/// Refreshes end to end, the way production runs them: the linked accounts are made due (through the broker's own
/// store classes, as a reschedule would), then the Functions host's timer call (<c>POST /RefreshTokens</c>) runs the
/// sweep in a broker process of its own: due index → lease → vault read → provider refresh at the sandbox → vault
/// write → index and link updates. Three runs: limits lifted (what this machine does), production settings
/// (<c>Refresh:VaultWritesPerSecond</c> 20, 2 per provider), and a counted run whose Table traffic goes through a
/// counting relay, with the vault and sandbox requests counted in process, for the round trips one refresh costs.
/// </summary>
internal static class RefreshStage
{
    private const string Provider = "bybit";

    /// <summary>The host version the timer call claims to come from (the one the host emulation follows).</summary>
    private const string HostVersion = "4.1037.0.0";

    /// <summary>The tables one refresh reads and writes (<c>StorageOptions</c> defaults).</summary>
    private static readonly string[] RefreshTables = ["AccountLinks", "RefreshSchedule"];

    private static readonly string[] Lifted =
        ["--Refresh:MaxConcurrency=16", "--Refresh:MaxConcurrencyPerProvider=16", "--Refresh:VaultWritesPerSecond=100000"];

    public static async Task RunAsync(BenchContext context)
    {
        if (context.Linked.Count < 4)
        {
            throw new InvalidOperationException($"Only {context.Linked.Count} accounts were linked; the refresh stage needs at least 4.");
        }

        var azurite = context.Environment.Azurite;
        var connection = TableConnectionString.Parse(azurite.ConnectionString);
        var links = new TableAccountLinkStore(new TableHandle(new TableClient(connection.TableEndpoint, "AccountLinks", connection.Credential)));
        var schedule = new TableRefreshSchedule(new TableHandle(new TableClient(connection.TableEndpoint, "RefreshSchedule", connection.Credential)));
        async Task MakeDueAsync(IEnumerable<(string User, string Account)> accounts)
        {
            var due = DateTimeOffset.UtcNow.AddSeconds(-1);
            await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = context.Cancellation }, async (a, ct) =>
            {
                var link = await links.GetAsync(a.User, Provider, a.Account, ct) ?? throw new InvalidOperationException("A linked account has no link row.");
                var key = await schedule.AddAsync(link, due, ct);
                await links.ReplaceAsync(link with { NextRefreshAt = due, DueKey = key }, ct);
                if (link.DueKey is { } old)
                {
                    await schedule.RemoveAsync(old, ct);
                }
            });
        }

        var all = context.Linked.ToList();
        var answers = new StatusTally(0);
        var lifted = await SweepAsync(context, MakeDueAsync, all, Lifted);
        answers.AddAll(lifted.Answers, "lifted: ");
        var production = await SweepAsync(context, MakeDueAsync, all, []);
        answers.AddAll(production.Answers, "production: ");
        context.Table.Add("Refresh sweep end to end, Bybit sandbox (refreshes/s)", Stats.F(lifted.PerSecond, "0"),
            $"{lifted.Answers.Expected} refreshed in {Stats.F(lifted.Seconds, "0.00")} s, limits lifted; production settings {Stats.F(production.PerSecond, "0")}/s (vault pacer 20/s, 2 per provider)",
            "", "report", null, answers);

        await using var relay = await CountingRelay.StartAsync(azurite.Port);
        var storage = $"--Storage:ConnectionString={relay.ConnectionString(azurite.ConnectionString, azurite.Port)}";
        var counted = all.Take(context.Plan.CountedRefreshes).ToList();
        var run = await SweepAsync(context, MakeDueAsync, counted, [.. Lifted, storage], counters: [relay.Counter, context.KeyVaultRequests, context.SandboxRequests], warmUp: all.Skip(counted.Count).Take(2).ToList());
        var n = (double)run.Answers.Expected;
        string PerRefresh(IReadOnlyDictionary<string, long> counts) => counts.Count == 0 ? "none" :
            string.Join(", ", counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {Stats.F(p.Value / n, "0.##")}"));
        // A refresh touches the links and the due index; anything else in the same timer call is the scheduled run's
        // housekeeping (e.g. expired flows), counted per call, not per refresh.
        var everything = relay.Counter.Snapshot();
        var table = everything.Where(p => RefreshTables.Any(t => p.Key.EndsWith(" " + t, StringComparison.Ordinal))).ToDictionary();
        var housekeeping = everything.Where(p => !table.ContainsKey(p.Key)).Select(p => $"{p.Key} {p.Value}").ToList();
        var vault = context.KeyVaultRequests.Snapshot();
        var sandbox = context.SandboxRequests.Snapshot();
        context.Table.Add("Storage round trips per refresh (sweep)", $"Table {Stats.F(table.Values.Sum() / n, "0.##")}, Key Vault {Stats.F(vault.Values.Sum() / n, "0.##")}",
            $"Table: {PerRefresh(table)}; Key Vault: {PerRefresh(vault)}; provider: {PerRefresh(sandbox)}; over {run.Answers.Expected} refreshes" +
            (housekeeping.Count == 0 ? "" : $"; the timer call's housekeeping, per call: {string.Join(", ", housekeeping)}"),
            "", "report", null, run.Answers);
    }

    private static async Task<SweepRun> SweepAsync(BenchContext context, Func<IEnumerable<(string User, string Account)>, Task> makeDue,
        List<(string User, string Account)> accounts, string[] settings, RequestCounter[]? counters = null, List<(string User, string Account)>? warmUp = null)
    {
        // Each timer call claims its schedule occurrence (one scheduled run per occurrence across instances): a schedule
        // of every second, and a call at least a second after the last, gives every call of this stage its own.
        var (process, broker) = await context.StartBrokerAsync([.. settings, "--REFRESH_SCHEDULE=* * * * * *"]);
        try
        {
            using var http = new HttpClient { BaseAddress = broker, Timeout = TimeSpan.FromMinutes(5) };
            if (warmUp is { Count: > 0 })
            {
                // First use of each table, the vault's bearer challenge, new connections: once per instance, not per refresh.
                await makeDue(warmUp);
                await TimerCallAsync(http, context.Cancellation);
            }

            await makeDue(accounts);
            foreach (var counter in counters ?? [])
            {
                counter.Reset();
            }

            return await TimerCallAsync(http, context.Cancellation);
        }
        finally
        {
            await ChildProcesses.StopAsync(process);
        }
    }

    /// <summary>
    /// What the Functions host sends to a custom handler for a timer trigger, and the sweep's report back. The shape is
    /// the host's, which RefreshTokensFunction alone answers (azure-functions-host 4.1037,
    /// src/WebJobs.Script/Workers/Http/DefaultHttpWorkerService.cs:161-166: host version, invocation id and user agent
    /// headers; Workers/MessageExtensions/HttpScriptInvocationContextExtensions.cs:13-22: an <c>ObjectContent</c> body,
    /// sent chunked; ScriptInvocationContextExtensions.cs: the function's name in <c>Metadata.sys.MethodName</c>).
    /// </summary>
    private static async Task<SweepRun> TimerCallAsync(HttpClient http, CancellationToken ct)
    {
        // A new schedule occurrence for this call (the broker's schedule here fires every second).
        await Task.Delay(TimeSpan.FromSeconds(1.1), ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, "RefreshTokens")
        {
            Content = new ChunkedBody(JsonSerializer.SerializeToUtf8Bytes(new { Data = new { timer = new { IsPastDue = false } }, Metadata = new { sys = new { MethodName = "RefreshTokens" } } })),
        };
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", HostVersion);
        request.Headers.UserAgent.ParseAdd($"Azure-Functions-Host/{HostVersion}");
        using var response = await http.SendAsync(request, ct);
        var answers = new StatusTally(0);
        if (!response.IsSuccessStatusCode)
        {
            answers.AddError($"timer call {(int)response.StatusCode}");
            return new SweepRun(answers, double.NaN, double.NaN);
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var sweep = Property(Property(body.RootElement, "ReturnValue"), "Sweep");
        foreach (var outcome in Property(sweep, "Outcomes").EnumerateObject())
        {
            if (outcome.Name.Equals("Refreshed", StringComparison.OrdinalIgnoreCase))
            {
                answers.AddExpected(outcome.Value.GetInt32());
            }
            else
            {
                answers.AddError(outcome.Name, outcome.Value.GetInt32());
            }
        }

        answers.AddError("error", Property(sweep, "Errors").GetInt32());
        var seconds = TimeSpan.Parse(Property(sweep, "Duration").GetString()!, System.Globalization.CultureInfo.InvariantCulture).TotalSeconds;
        return new SweepRun(answers, seconds, answers.Expected / seconds);
    }

    private static JsonElement Property(JsonElement element, string name) =>
        element.EnumerateObject().FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value is { ValueKind: not JsonValueKind.Undefined } value
            ? value
            : throw new InvalidOperationException($"The timer call's answer has no '{name}'.");

    private sealed record SweepRun(StatusTally Answers, double Seconds, double PerSecond);
}
