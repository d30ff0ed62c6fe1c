using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using System.Web;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;
using OAuthBroker.Bench;
using OAuthBroker.Links;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Storage.Refresh;
using OAuthBroker.Storage.Tables;

// One command (bench/run.sh) → one table. Shared, noisy machines: medians of several runs, ratios measured in the same run.
var quick = args.Contains("--quick");
var root = RepositoryRoot.Find();
var benchDirectory = Path.Combine(root, "bench");
var brokerExe = Path.Combine(root, "src", "OAuthBroker.Host", "bin", "Release", "net10.0", "OAuthBroker.Host");
var bareExe = Path.Combine(benchDirectory, "BareApi", "bin", "Release", "net10.0", "BareApi");
var runs = quick ? 3 : 7;
var loadSeconds = quick ? 5 : 10;
var indexSize = quick ? 20_000 : 100_000;
const int Connections = 16;

var grantPort = Measure.Port();
var settings = LocalEnvironmentSettings.Isolated(Path.Combine(Path.GetTempPath(), "oauth-broker-bench-" + Guid.NewGuid().ToString("N")));
settings.BrokerSettings["Refresh:RunInProcess"] = "false";
settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:ClientId"] = "grant-client";
settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:ClientSecret"] = "grant-secret";
settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:RedirectUris:0"] = $"http://127.0.0.1:{grantPort}/connect/sandbox/callback";
settings.ConfigureBroker = b => b.Logging.ClearProviders();
settings.ConfigureSandbox = b => b.Logging.ClearProviders();
settings.ConfigureKeyVault = b => b.Logging.ClearProviders();

Console.Error.WriteLine("Starting Azurite, the local Key Vault endpoint and the sandbox…");
await using var environment = await BrokerEnvironment.StartAsync(settings);
var rows = new List<string[]>();

// The broker under test runs as its own process (Release build), as the Functions host would run it.
var brokerArguments = environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal))
    .Append("--Logging:LogLevel:Default=Warning").ToArray();
var noEnvironment = new Dictionary<string, string>();

// 1. Start-up: process start → first 200 from /api/health, broker vs a bare minimal API built the same way.
Console.Error.WriteLine("1/5 start-up…");
var brokerStarts = new List<double>();
var bareStarts = new List<double>();
for (var i = 0; i < runs; i++)
{
    var (broker, brokerTime) = await Measure.StartAndWaitForHealthAsync(brokerExe, Measure.Port(), noEnvironment, brokerArguments);
    await Measure.StopAsync(broker);
    var (bare, bareTime) = await Measure.StartAndWaitForHealthAsync(bareExe, Measure.Port(), noEnvironment);
    await Measure.StopAsync(bare);
    brokerStarts.Add(brokerTime.TotalMilliseconds);
    bareStarts.Add(bareTime.TotalMilliseconds);
}

var startRatio = Measure.Median(brokerStarts) / Measure.Median(bareStarts);
rows.Add(["Handler start-up (ms, median)", Measure.F(Measure.Median(brokerStarts), "0"), $"bare API {Measure.F(Measure.Median(bareStarts), "0")}", Measure.F(startRatio, "0.00") + "×", "≤ 1.3×", startRatio <= 1.3 ? "yes" : "no"]);

// The long-running broker process for the load measurements.
var brokerPort = Measure.Port();
var (brokerProcess, _) = await Measure.StartAndWaitForHealthAsync(brokerExe, brokerPort, noEnvironment, brokerArguments);
var brokerUri = new Uri($"http://127.0.0.1:{brokerPort}/");
try
{
    // 2. Authorize: broker vs grant, same provider (sandbox OIDC issuer "alpha"), same concurrency.
    Console.Error.WriteLine("2/5 authorize vs grant…");
    var issuer = new Uri(environment.SandboxUri, "oidc/alpha/");
    var grantStart = new ProcessStartInfo("node", [Path.Combine(benchDirectory, "grant-server.js")]) { WorkingDirectory = benchDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
    grantStart.Environment["PORT"] = grantPort.ToString(CultureInfo.InvariantCulture);
    grantStart.Environment["AUTHORIZE_URL"] = new Uri(issuer, "authorize").AbsoluteUri;
    grantStart.Environment["ACCESS_URL"] = new Uri(issuer, "token").AbsoluteUri;
    grantStart.Environment["CLIENT_ID"] = "grant-client";
    grantStart.Environment["CLIENT_SECRET"] = "grant-secret";
    using var grant = Process.Start(grantStart)!;
    grant.OutputDataReceived += (_, _) => { };
    grant.ErrorDataReceived += (_, _) => { };
    grant.BeginOutputReadLine();
    grant.BeginErrorReadLine();
    await FreePort.WaitUntilListeningAsync(grantPort, TimeSpan.FromSeconds(20));
    try
    {
        var brokerAuthorize = new Uri(brokerUri, "api/oauth/acme/authorize").AbsoluteUri;
        var grantAuthorize = $"http://127.0.0.1:{grantPort}/connect/sandbox";
        var devUser = new Dictionary<string, string> { ["X-Dev-User"] = "bench" };
        await Measure.AutocannonAsync(benchDirectory, brokerAuthorize, Connections, 2, devUser);
        await Measure.AutocannonAsync(benchDirectory, grantAuthorize, Connections, 2);
        var brokerLoads = new List<Measure.LoadResult>();
        var grantLoads = new List<Measure.LoadResult>();
        for (var i = 0; i < (quick ? 1 : 3); i++)
        {
            brokerLoads.Add(await Measure.AutocannonAsync(benchDirectory, brokerAuthorize, Connections, loadSeconds, devUser));
            grantLoads.Add(await Measure.AutocannonAsync(benchDirectory, grantAuthorize, Connections, loadSeconds));
        }

        var brokerRps = Measure.Median(brokerLoads.Select(l => l.RequestsPerSecond));
        var grantRps = Measure.Median(grantLoads.Select(l => l.RequestsPerSecond));
        var brokerP99 = Measure.Median(brokerLoads.Select(l => l.P99Ms));
        var grantP99 = Measure.Median(grantLoads.Select(l => l.P99Ms));
        rows.Add([$"Authorize, {Connections} connections (req/s)", Measure.F(brokerRps, "0"), $"grant {Measure.F(grantRps, "0")}", Measure.F(brokerRps / grantRps, "0.00") + "×", "≥ 2×", brokerRps >= 2 * grantRps ? "yes" : "no"]);
        rows.Add(["Authorize latency p50 / p99 (ms)", $"{Measure.F(Measure.Median(brokerLoads.Select(l => l.P50Ms)), "0")} / {Measure.F(brokerP99, "0")}", $"grant {Measure.F(Measure.Median(grantLoads.Select(l => l.P50Ms)), "0")} / {Measure.F(grantP99, "0")}", Measure.F(brokerP99 / grantP99, "0.00") + "× p99", "lower p99", brokerP99 < grantP99 ? "yes" : "no"]);
    }
    finally
    {
        grant.Kill(entireProcessTree: true);
        await grant.WaitForExitAsync();
    }

    // 3. Full link flow: authorize → sandbox consent → callback (Azurite + local Key Vault), where the time goes.
    Console.Error.WriteLine("3/5 full link flow…");
    var flows = quick ? 40 : 150;
    var stageTimes = new System.Collections.Concurrent.ConcurrentBag<(double Authorize, double Consent, double Callback)>();
    var linked = new System.Collections.Concurrent.ConcurrentBag<(string User, string Account)>();
    var flowClock = Stopwatch.StartNew();
    await Parallel.ForAsync(0, flows, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
    {
        var result = await LinkFlow.RunAsync(brokerUri, "bench-user-" + i, 100_000_000 + i);
        stageTimes.Add(result.Stages);
        linked.Add((result.User, result.Account));
    });
    var flowRate = flows / flowClock.Elapsed.TotalSeconds;
    rows.Add(["Full link flow, 4 at once (flows/s)", Measure.F(flowRate, "0.0"),
        $"median ms: broker authorize {Measure.F(Measure.Median(stageTimes.Select(s => s.Authorize)), "0")}, provider consent {Measure.F(Measure.Median(stageTimes.Select(s => s.Consent)), "0")}, callback {Measure.F(Measure.Median(stageTimes.Select(s => s.Callback)), "0")}",
        "", "report", "—"]);

    // 4. Refresh sweep: the due index answers with what is due, not with every link.
    Console.Error.WriteLine($"4/5 due index over {indexSize:N0} entries…");
    var counter = new CountingPolicy();
    var options = new TableClientOptions();
    options.AddPolicy(counter, HttpPipelinePosition.PerCall);
    var tableClient = new TableClient(new Uri($"http://127.0.0.1:{environment.Azurite.Port}/devstoreaccount1"), "BenchSchedule",
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
    await Parallel.ForAsync(0, indexSize, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        await schedule.AddAsync(template with { AccountId = i.ToString(CultureInfo.InvariantCulture) }, origin.AddSeconds(i), ct));
    foreach (var due in new[] { 1_000, 5_000, 10_000 })
    {
        counter.Reset();
        var clock = Stopwatch.StartNew();
        var entries = await schedule.ListDueAsync(origin.AddSeconds(due - 0.5), int.MaxValue, default);
        var elapsed = clock.Elapsed;
        var ratio = (double)entries.Count / due;
        rows.Add([$"Sweep read: {indexSize:N0} links, {due:N0} due", $"{Measure.F(elapsed.TotalMilliseconds, "0")} ms, {counter.Requests} requests",
            $"{entries.Count:N0} entities read", Measure.F(ratio, "0.00") + "× due", "reads ≤ 1.1× due", ratio <= 1.1 ? "yes" : "no"]);
    }

    // 5. Credential reads with the cache warm, and the broker's peak memory.
    Console.Error.WriteLine("5/5 credential reads…");
    var (user, account) = linked.First();
    var credentialUrl = new Uri(brokerUri, $"api/links/bybit/{account}/credential?userId={user}").AbsoluteUri;
    var backendKey = new Dictionary<string, string> { ["X-Api-Key"] = settings.BackendKey };
    await Measure.AutocannonAsync(benchDirectory, credentialUrl, Connections, 2, backendKey);
    var reads = new List<Measure.LoadResult>();
    for (var i = 0; i < (quick ? 1 : 3); i++)
    {
        reads.Add(await Measure.AutocannonAsync(benchDirectory, credentialUrl, Connections, loadSeconds, backendKey));
    }

    var readRate = Measure.Median(reads.Select(r => r.RequestsPerSecond));
    rows.Add([$"Credential reads, cache warm, {Connections} conn. (req/s)", Measure.F(readRate, "0"), $"p99 {Measure.F(Measure.Median(reads.Select(r => r.P99Ms)), "0")} ms, errors {reads.Sum(r => r.Errors)}", "", "≥ 5,000/s", readRate >= 5000 ? "yes" : "no"]);
    rows.Add(["Broker peak RSS under load (MiB)", Measure.F(Measure.PeakRssMiB(brokerProcess), "0"), "", "", "report", "—"]);
}
finally
{
    await Measure.StopAsync(brokerProcess);
}

var table = new StringBuilder();
table.AppendLine(CultureInfo.InvariantCulture, $"Date {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC · {Environment.ProcessorCount} cores · .NET {Environment.Version} · {(quick ? "quick" : "full")} run ({runs} start-ups, {loadSeconds} s loads)");
table.AppendLine();
table.AppendLine("| Measure | Broker | Peer / baseline / detail | Ratio | Goal | Met |");
table.AppendLine("|---|---|---|---|---|---|");
foreach (var row in rows)
{
    table.AppendLine("| " + string.Join(" | ", row) + " |");
}

Console.WriteLine(table);
await File.WriteAllTextAsync(Path.Combine(benchDirectory, "results-latest.md"), table.ToString());

/// <summary>Counts the HTTP requests a Table client sends.</summary>
internal sealed class CountingPolicy : HttpPipelineSynchronousPolicy
{
    private int _requests;

    public int Requests => _requests;

    public void Reset() => Interlocked.Exchange(ref _requests, 0);

    public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _requests);
}

/// <summary>One person linking a Bybit sandbox account, timed per stage.</summary>
internal static partial class LinkFlow
{
    public static async Task<(string User, string Account, (double Authorize, double Consent, double Callback) Stages)> RunAsync(Uri broker, string user, long uid)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
        var clock = Stopwatch.StartNew();
        using var authorizeRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(broker, "api/oauth/bybit/authorize?returnUrl=/demo/callback.html"));
        authorizeRequest.Headers.Add("X-Dev-User", user);
        using var authorize = await http.SendAsync(authorizeRequest);
        var authorizeMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var consentPage = await http.GetStringAsync(authorize.Headers.Location);
        var fields = Hidden().Matches(consentPage).ToDictionary(m => m.Groups["name"].Value, m => HttpUtility.HtmlDecode(m.Groups["value"].Value));
        fields["account"] = uid.ToString(CultureInfo.InvariantCulture);
        fields["action"] = "approve";
        using var consent = await http.PostAsync(new Uri(authorize.Headers.Location!, HttpUtility.HtmlDecode(Action().Match(consentPage).Groups["action"].Value)), new FormUrlEncodedContent(fields));
        var consentMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        using var callback = await http.GetAsync(consent.Headers.Location);
        var callbackMs = clock.Elapsed.TotalMilliseconds;
        if (callback.StatusCode != HttpStatusCode.Found || !callback.Headers.Location!.Query.Contains("oauth_result=linked", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Flow {user} did not link: {callback.StatusCode} {callback.Headers.Location}");
        }

        return (user, uid.ToString(CultureInfo.InvariantCulture), (authorizeMs, consentMs, callbackMs));
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[a-z_]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex Hidden();

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]+)\">")]
    private static partial Regex Action();
}
