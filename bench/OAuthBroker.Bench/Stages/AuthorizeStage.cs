using System.Diagnostics;
using System.Globalization;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Bench.Stages;

/// <summary>
/// <c>GET /api/oauth/acme/authorize</c> for a signed-in browser (Easy Auth headers) against grant (the peer, same sandbox issuer, PKCE) and
/// against the bare API answering the same 302 (the machine's limit for this answer), same concurrency, one run.
/// Only 302 counts as success for all three.
/// </summary>
internal static class AuthorizeStage
{
    private const int Found = 302;

    public static async Task RunAsync(BenchContext context, Uri broker, int grantPort)
    {
        var issuer = new Uri(context.Environment.SandboxUri, "oidc/alpha/");
        var grantStart = new ProcessStartInfo("node", [Path.Combine(context.BenchDirectory, "grant-server.js")]) { WorkingDirectory = context.BenchDirectory };
        grantStart.Environment["PORT"] = grantPort.ToString(CultureInfo.InvariantCulture);
        grantStart.Environment["AUTHORIZE_URL"] = new Uri(issuer, "authorize").AbsoluteUri;
        grantStart.Environment["ACCESS_URL"] = new Uri(issuer, "token").AbsoluteUri;
        grantStart.Environment["CLIENT_ID"] = "grant-client";
        grantStart.Environment["CLIENT_SECRET"] = "grant-secret";
        var grant = ChildProcesses.StartDrained(grantStart);
        var barePort = FreePort.Next();
        var (bare, _) = await ChildProcesses.StartAndWaitForHealthAsync(context.BareExecutable, barePort, [$"--AuthorizeUrl={new Uri(issuer, "authorize").AbsoluteUri}"], context.Cancellation);
        try
        {
            await FreePort.WaitUntilListeningAsync(grantPort, TimeSpan.FromSeconds(20));
            var urls = new (string Name, string Url, Dictionary<string, string>? Headers)[]
            {
                ("broker", new Uri(broker, "api/oauth/acme/authorize").AbsoluteUri, BenchContext.SignedIn("bench")),
                ("grant", $"http://127.0.0.1:{grantPort}/connect/sandbox", null),
                ("bare", $"http://127.0.0.1:{barePort}/api/oauth/acme/authorize", null),
            };
            var loads = urls.ToDictionary(u => u.Name, _ => new List<LoadResult>());
            foreach (var (_, url, headers) in urls)
            {
                // Warm-up (JIT, connection pools), not counted.
                await Autocannon.RunAsync(context.BenchDirectory, url, Found, BenchPlan.Connections, 2, headers, context.Cancellation);
            }

            for (var i = 0; i < context.Plan.LoadRepeats; i++)
            {
                // Interleaved, so a burst of noise from the shared machine hits every side alike.
                foreach (var (name, url, headers) in urls)
                {
                    loads[name].Add(await Autocannon.RunAsync(context.BenchDirectory, url, Found, BenchPlan.Connections, context.Plan.LoadSeconds, headers, context.Cancellation));
                }
            }

            double Rate(string name) => Stats.Median(loads[name].Select(l => l.SuccessesPerSecond));
            double P(string name, Func<LoadResult, double> pick) => Stats.Median(loads[name].Select(pick));
            var answers = new StatusTally(Found);
            foreach (var (name, results) in loads)
            {
                foreach (var result in results)
                {
                    answers.AddAll(result.Answers, name + " ");
                }
            }

            var (b, g, n) = (Rate("broker"), Rate("grant"), Rate("bare"));
            context.Table.Add($"Authorize, {BenchPlan.Connections} connections (302/s)", Stats.F(b, "0"), $"grant {Stats.F(g, "0")}; bare 302 {Stats.F(n, "0")}",
                $"{Stats.Ratio(b / g)} grant, {Stats.Ratio(b / n)} bare", "≥ 2× grant, ≥ 0.8× bare", b >= 2 * g && b >= 0.8 * n, answers);
            context.Table.Add("Authorize latency p50 / p99 (ms)", $"{Stats.F(P("broker", l => l.P50Ms), "0")} / {Stats.F(P("broker", l => l.P99Ms), "0")}",
                $"grant {Stats.F(P("grant", l => l.P50Ms), "0")} / {Stats.F(P("grant", l => l.P99Ms), "0")}; bare {Stats.F(P("bare", l => l.P50Ms), "0")} / {Stats.F(P("bare", l => l.P99Ms), "0")}",
                Stats.Ratio(P("broker", l => l.P99Ms) / P("grant", l => l.P99Ms)) + " p99 vs grant", "lower p99 than grant", P("broker", l => l.P99Ms) < P("grant", l => l.P99Ms));
        }
        finally
        {
            await ChildProcesses.StopAsync(grant);
            await ChildProcesses.StopAsync(bare);
        }
    }
}
