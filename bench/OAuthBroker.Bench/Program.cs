using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using OAuthBroker.Bench;
using OAuthBroker.Bench.Stages;
using OAuthBroker.LocalEnvironment;

// One command (bench/run.sh) → one table. Shared, noisy machines: medians, every comparison measured in the same run.
// Exit code: 0 when every stage ran and every row measured what it names; 1 when a stage failed or a row is INVALID
// (too many non-expected answers); 143/130 when interrupted. No figure is asserted.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var plan = BenchPlan.For(args.Contains("--quick"));
if (args.SkipWhile(a => a != "--startups").Skip(1).FirstOrDefault() is { } startUps)
{
    plan = plan with { StartUps = int.Parse(startUps, CultureInfo.InvariantCulture) };
}

var startupOnly = args.Contains("--startup-only");

// Only the authorize row (stage 2): a before/after comparison of the authorize hot path without the other stages.
var authorizeOnly = args.Contains("--authorize-only");
var root = RepositoryRoot.Find();
var benchDirectory = Path.Combine(root, "bench");
var published = args.SkipWhile(a => a != "--published").Skip(1).FirstOrDefault() ?? Path.Combine(benchDirectory, ".out");

using var interrupted = new CancellationTokenSource();
void Interrupt(PosixSignalContext signal)
{
    // Stop launching work, kill what runs (by process id), and let the finally blocks stop the environment.
    signal.Cancel = true;
    Console.Error.WriteLine($"Interrupted ({signal.Signal}); stopping every process the benchmark started.");
    interrupted.Cancel();
    ChildProcesses.KillAll();
}

using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);

var grantPort = FreePort.Next();
var loadBrokerPort = FreePort.Next();
var settings = LocalEnvironmentSettings.Isolated(Path.Combine(Path.GetTempPath(), "oauth-broker-bench-" + Guid.NewGuid().ToString("N")));
settings.BrokerSettings["Refresh:RunInProcess"] = "false";
settings.SandboxSettings["Sandbox:Bybit:Clients:0:RedirectUris:1"] = $"http://127.0.0.1:{loadBrokerPort}/api/oauth/bybit/callback";
settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:ClientId"] = "grant-client";
settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:ClientSecret"] = "grant-secret";
settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:RedirectUris:0"] = $"http://127.0.0.1:{grantPort}/connect/sandbox/callback";
var keyVaultRequests = new RequestCounter(path => path.StartsWithSegments("/secrets") ? "secrets" : path.Value ?? "");
var sandboxRequests = new RequestCounter(path => path.Value ?? "");
settings.ConfigureBroker = b => b.Logging.ClearProviders();
settings.ConfigureSandbox = b =>
{
    b.Logging.ClearProviders();
    sandboxRequests.InstallOn(b);
};
settings.ConfigureKeyVault = b =>
{
    b.Logging.ClearProviders();
    keyVaultRequests.InstallOn(b);
};

var table = new ResultTable();
var started = DateTimeOffset.UtcNow;
Console.Error.WriteLine("Starting Azurite, the local Key Vault endpoint and the sandbox…");
await using (var environment = await BrokerEnvironment.StartAsync(settings))
{
    var context = new BenchContext
    {
        Plan = plan,
        BenchDirectory = benchDirectory,
        BrokerExecutable = Path.Combine(published, "broker", "OAuthBroker.Host"),
        BareExecutable = Path.Combine(published, "bare", "BareApi"),
        Environment = environment,
        Settings = settings,
        Table = table,
        KeyVaultRequests = keyVaultRequests,
        SandboxRequests = sandboxRequests,
        Cancellation = interrupted.Token,
        LoadBrokerPort = loadBrokerPort,
        StartupTraceDirectory = args.SkipWhile(a => a != "--trace-startup").Skip(1).FirstOrDefault() is { } traces ? Path.GetFullPath(traces) : null,
    };

    async Task StageAsync(string name, Func<Task> stage)
    {
        interrupted.Token.ThrowIfCancellationRequested();
        Console.Error.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {name}…");
        try
        {
            await stage();
        }
        catch (Exception ex) when (!interrupted.IsCancellationRequested)
        {
            // A crashed stage is a row that says so (and a failed run), not a missing table.
            Console.Error.WriteLine(ex);
            table.AddFailure(name, ex);
        }
    }

    async Task RunStagesAsync()
    {
        if (!authorizeOnly)
        {
            await StageAsync("1/6 start-up and package size", () => StartupStage.RunAsync(context));
        }

        if (startupOnly)
        {
            return;
        }

        (Process Process, Uri Uri)? loadBroker = null;
        await StageAsync("the broker for stages 2–5", async () => loadBroker = await context.StartLoadBrokerAsync());
        if (loadBroker is { } running)
        {
            var (brokerProcess, brokerUri) = running;
            try
            {
                await StageAsync("2/6 authorize vs grant vs bare 302", () => AuthorizeStage.RunAsync(context, brokerUri, grantPort));
                if (authorizeOnly)
                {
                    return;
                }

                await StageAsync("3/6 full link flows", () => LinkFlowStage.RunAsync(context, brokerUri));
                await StageAsync($"4/6 due index over {plan.IndexSize:N0} entries", () => DueIndexStage.RunAsync(context));
                await StageAsync("5/6 credential reads", () => CredentialReadStage.RunAsync(context, brokerUri, brokerProcess));
            }
            finally
            {
                await ChildProcesses.StopAsync(brokerProcess);
            }
        }

        await StageAsync("6/6 refresh sweep end to end", () => RefreshStage.RunAsync(context));
    }

    try
    {
        await RunStagesAsync();
    }
    catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
    {
        Console.Error.WriteLine("Interrupted: the table below is partial.");
    }
    finally
    {
        ChildProcesses.KillAll();
    }
}

var heading = $"Date {started:yyyy-MM-dd HH:mm} UTC · {Environment.ProcessorCount} cores · .NET {Environment.Version} · {(startupOnly ? $"start-up only ({plan.StartUps} start-ups per side)" : authorizeOnly ? $"authorize only ({plan.LoadRepeats} × {plan.LoadSeconds} s loads per side)" : plan.Describe())} · took {(DateTimeOffset.UtcNow - started).TotalSeconds:0} s";
var rendered = table.Render(heading);
Console.WriteLine(rendered);
await File.WriteAllTextAsync(Path.Combine(benchDirectory, "results-latest.md"), rendered);
if (interrupted.IsCancellationRequested)
{
    return 143;
}

if (table.InvalidRows.Count > 0)
{
    Console.Error.WriteLine($"Not a valid run: {string.Join("; ", table.InvalidRows)} (see the Errors column).");
    return 1;
}

return 0;
