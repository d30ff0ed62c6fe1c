using System.Diagnostics;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Bench;

/// <summary>What every stage shares: the plan, the published apps, the local environment and the table.</summary>
internal sealed class BenchContext
{
    public required BenchPlan Plan { get; init; }
    public required string BenchDirectory { get; init; }

    /// <summary>The broker's published package (bench/.out/broker), what the Functions host would start.</summary>
    public required string BrokerExecutable { get; init; }

    /// <summary>The bare minimal API published the same way (bench/.out/bare).</summary>
    public required string BareExecutable { get; init; }

    public required BrokerEnvironment Environment { get; init; }
    public required LocalEnvironmentSettings Settings { get; init; }
    public required ResultTable Table { get; init; }
    public required RequestCounter KeyVaultRequests { get; init; }
    public required RequestCounter SandboxRequests { get; init; }
    public required CancellationToken Cancellation { get; init; }

    /// <summary>Where the start-up stage writes one EventPipe trace per side (<c>--trace-startup DIR</c>); null: no trace.</summary>
    public string? StartupTraceDirectory { get; init; }

    /// <summary>Accounts the link-flow stage linked (user, Bybit UID); later stages read and refresh them.</summary>
    public List<(string User, string Account)> Linked { get; } = [];

    /// <summary>
    /// The broker's settings for a process of its own: the local environment's, logging at Warning, and a per-client
    /// rate limit far above anything one load generator on loopback sends (the limit is per client address, and every
    /// request here comes from 127.0.0.1), so it never answers 429 to the benchmark.
    /// </summary>
    public IEnumerable<string> BrokerArguments(params string[] extra) =>
        Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal))
            .Append("--Logging:LogLevel:Default=Warning")
            .Append("--Broker:AnonymousRequestsPerMinute=1000000000")
            .Concat(extra);

    /// <summary>Starts the published broker on a free port and waits until it answers /api/health.</summary>
    public async Task<(Process Process, Uri Uri)> StartBrokerAsync(params string[] extra)
    {
        var port = FreePort.Next();
        var (process, _) = await ChildProcesses.StartAndWaitForHealthAsync(BrokerExecutable, port, BrokerArguments(extra), Cancellation);
        return (process, new Uri($"http://127.0.0.1:{port}/"));
    }
}
