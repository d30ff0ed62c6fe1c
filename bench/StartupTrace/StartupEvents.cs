using Microsoft.Diagnostics.Tracing;

namespace OAuthBroker.Bench.StartupTrace;

/// <summary>
/// What one traced start-up did, from the runtime's loader and JIT events and ASP.NET Core's hosting events:
/// jitted methods with their JIT time, loaded assemblies with their load time, and the moments that divide the
/// start-up into phases (Main entered, broker methods first jitted, Kestrel ready, first request, its answer). Times are in ms
/// from the EventPipe session's start, which is the runtime's start.
/// </summary>
internal sealed class StartupEvents
{
    /// <summary>Methods whose first JIT marks a phase of the broker's start-up (src/OAuthBroker.Host/BrokerApp.cs).</summary>
    private static readonly Dictionary<string, string> PhaseMethods = new(StringComparer.Ordinal)
    {
        ["Program.<Main>$"] = "Main entered",
        ["OAuthBroker.Host.BrokerApp.Create"] = "BrokerApp.Create",
        ["OAuthBroker.BrokerCoreServiceCollectionExtensions.AddBrokerCore"] = "service registration",
        ["OAuthBroker.Providers.ProviderCatalog.Build"] = "provider catalogue (after builder.Build())",
        ["OAuthBroker.Host.Endpoints.HealthEndpoints.MapHealthEndpoints"] = "middleware + endpoints",
    };

    public List<(double At, string Name)> Phases { get; } = [];
    public List<(double At, double Ms, string Namespace, string Name)> Jitted { get; } = [];
    public List<(double At, double Ms, string Name)> Assemblies { get; } = [];
    public double FirstRequest { get; private set; } = double.NaN;

    /// <summary>When the first request's answer was complete (Hosting's Request/Stop): what the benchmark's start-up row ends at.</summary>
    public double FirstAnswer { get; private set; } = double.NaN;

    public static StartupEvents Read(string file)
    {
        var events = new StartupEvents();
        using var source = new EventPipeEventSource(file);
        var jitStarts = new Dictionary<long, (double At, string Namespace, string Name)>();
        var loadStarts = new Dictionary<int, (double At, string Name)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Phase(double at, string name)
        {
            if (seen.Add(name))
            {
                events.Phases.Add((at, name));
            }
        }

        source.Clr.MethodJittingStarted += e =>
        {
            jitStarts[e.MethodID] = (e.TimeStampRelativeMSec, e.MethodNamespace, e.MethodName);
            if (PhaseMethods.TryGetValue(e.MethodNamespace + "." + e.MethodName, out var phase))
            {
                Phase(e.TimeStampRelativeMSec, phase);
            }
        };
        source.Clr.MethodLoadVerbose += e =>
        {
            if (jitStarts.Remove(e.MethodID, out var start))
            {
                events.Jitted.Add((start.At, e.TimeStampRelativeMSec - start.At, start.Namespace, start.Name));
            }
        };
        source.Clr.AssemblyLoaderStart += e => loadStarts[e.ThreadID] = (e.TimeStampRelativeMSec, e.AssemblyName);
        source.Clr.AssemblyLoaderStop += e =>
        {
            if (loadStarts.Remove(e.ThreadID, out var start))
            {
                events.Assemblies.Add((start.At, e.TimeStampRelativeMSec - start.At, start.Name.Split(',')[0]));
            }
        };
        source.Dynamic.All += e =>
        {
            // Microsoft.AspNetCore.Hosting's EventSource: ServerReady once Kestrel listens, Request/Start per request.
            if (e.ProviderName != "Microsoft.AspNetCore.Hosting")
            {
                return;
            }

            if (e.EventName == "ServerReady")
            {
                Phase(e.TimeStampRelativeMSec, "Kestrel listening");
            }
            else if (e.EventName == "Request/Start" && double.IsNaN(events.FirstRequest))
            {
                events.FirstRequest = e.TimeStampRelativeMSec;
            }
            else if (e.EventName == "Request/Stop" && double.IsNaN(events.FirstAnswer))
            {
                events.FirstAnswer = e.TimeStampRelativeMSec;
            }
        };
        source.Process();
        events.Phases.Sort();
        return events;
    }
}
