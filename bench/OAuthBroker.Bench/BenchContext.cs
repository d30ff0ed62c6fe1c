using System.Diagnostics;
using System.Security.Cryptography;
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

    /// <summary>One sealing key for every broker process of the run, so what one process seals another can open.</summary>
    private readonly string _sealingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// The broker's settings for a process of its own, started the way the Functions host starts it
    /// (<c>FUNCTIONS_CUSTOMHANDLER_PORT</c>): the local environment's settings, logging at Warning, and
    /// <list type="bullet">
    /// <item>a per-client rate limit far above anything one load generator on loopback sends (the limit counts per client
    /// address, and every request here comes from 127.0.0.1), so it never answers 429 to the benchmark; keyed on the
    /// connection's peer, because no front end here writes the <c>Client-IP</c> header the broker reads under the
    /// Functions host (without it every anonymous request is refused, 503 <c>client_address_unavailable</c>);</item>
    /// <item>users signed in through App Service Authentication, as in Azure: the broker refuses the development identity
    /// under the Functions host, so the benchmark plays the platform's front end and sends the Easy Auth principal
    /// headers (see <see cref="SignedIn"/>), believed because <c>WEBSITE_AUTH_ENABLED</c> is True;</item>
    /// <item>a configured sealing key shared by all its broker processes.</item>
    /// </list>
    /// </summary>
    public IEnumerable<string> BrokerArguments(params string[] extra) =>
        Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal))
            .Append("--Logging:LogLevel:Default=Warning")
            .Append("--Broker:AnonymousRequestsPerMinute=1000000000")
            .Append("--RateLimit:ClientAddressHeader=")
            .Append("--Authentication:DevelopmentIdentity=false")
            .Append("--Authentication:TrustEasyAuthHeaders=true")
            .Append($"--Sealing:Keys:bench={_sealingKey}")
            .Concat(extra);

    /// <summary>What the platform sets in the handler's environment when App Service Authentication is on.</summary>
    public static IDictionary<string, string> BrokerEnvironmentVariables { get; } = new Dictionary<string, string> { ["WEBSITE_AUTH_ENABLED"] = "True" };

    /// <summary>
    /// The headers App Service Authentication's front end puts on a signed-in user's request (it strips any a client
    /// sends): the principal's id and its identity provider (the broker's default, <c>aad</c>).
    /// </summary>
    public static Dictionary<string, string> SignedIn(string user) => new()
    {
        ["X-MS-CLIENT-PRINCIPAL-ID"] = user,
        ["X-MS-CLIENT-PRINCIPAL-IDP"] = "aad",
    };

    /// <summary>
    /// The port of the broker process the loads and link flows run against, chosen before the sandbox starts so that
    /// its callback URL is registered there: Bybit sends an unregistered redirect_uri to the first registered one, which
    /// would be the in-process broker of the local environment, and the callback would not reach the broker measured.
    /// </summary>
    public required int LoadBrokerPort { get; init; }

    /// <summary>Starts the published broker on a free port and waits until it answers /api/health.</summary>
    public Task<(Process Process, Uri Uri)> StartBrokerAsync(params string[] extra) => StartBrokerAsync(FreePort.Next(), extra);

    /// <summary>
    /// Starts the broker for the loads and link flows: on <see cref="LoadBrokerPort"/>, its own public origin. The local
    /// environment's completion page is on the environment's broker origin, which start-up refuses for another origin,
    /// so the measured broker registers its own.
    /// </summary>
    public Task<(Process Process, Uri Uri)> StartLoadBrokerAsync() =>
        StartBrokerAsync(LoadBrokerPort, [
            $"--Broker:PublicBaseUrl=http://127.0.0.1:{LoadBrokerPort}",
            $"--Broker:CompletionPages:0=http://127.0.0.1:{LoadBrokerPort}/demo/callback.html",
        ]);

    private async Task<(Process Process, Uri Uri)> StartBrokerAsync(int port, string[] extra)
    {
        var (process, _) = await ChildProcesses.StartAndWaitForHealthAsync(BrokerExecutable, port, BrokerArguments(extra), Cancellation, BrokerEnvironmentVariables);
        return (process, new Uri($"http://127.0.0.1:{port}/"));
    }
}
