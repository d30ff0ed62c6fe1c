using OAuthBroker.Tests.FunctionsHost.Emulation;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The emulated host's telemetry against the host's source, on host.json files other than ours, so the tests that use
/// our host.json do not merely check the emulator against itself (review host-review-1, "Emulation deviations").
/// </summary>
public sealed class HostTelemetryFidelityTests : IDisposable
{
    private const string Callback = "http://127.0.0.1:7071/api/oauth/bybit/callback?code=the-code&state=the-state";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "telemetry-script-root-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private (HostTelemetry Telemetry, HostLog Log) Host(string logging)
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "host.json"), "{ \"version\": \"2.0\"" + logging + " }");
        var log = new HostLog();
        return (new HostTelemetry(ScriptRoot.Read(_root), log), log);
    }

    [Fact]
    public void At_4_1037_the_web_hosts_filter_drops_the_request_trace_whatever_host_json_says()
    {
        // ScriptLoggingBuilderExtensions.cs:19-41 with ScriptConstants.cs:241: only Microsoft.Azure.WebJobs., Function.,
        // Worker. and Host. pass the web host's filter (Program.cs:89).
        var (telemetry, log) = Host(", \"logging\": { \"logLevel\": { \"Microsoft.AspNetCore.Hosting.Diagnostics\": \"Information\" } }");
        telemetry.RequestStarting("GET", Callback);
        log.Entries.ShouldBeEmpty();

        // As reported for later hosts (#11602), host.json decides: Information lets the query through, Warning does not.
        telemetry.Reading = RequestTraceReading.HostJsonLogLevel;
        telemetry.RequestStarting("GET", Callback);
        log.Entries.ShouldContain(e => e.Category == HostTelemetry.RequestTraceCategory && e.Message.Contains("the-state", StringComparison.Ordinal));
        var (held, heldLog) = Host(", \"logging\": { \"logLevel\": { \"default\": \"Information\", \"Microsoft.AspNetCore.Hosting.Diagnostics\": \"Warning\" } }");
        held.Reading = RequestTraceReading.HostJsonLogLevel;
        held.RequestStarting("GET", Callback);
        heldLog.Entries.ShouldBeEmpty();
    }

    [Fact]
    public void By_default_each_call_to_the_handler_is_a_dependency_with_its_full_url_and_the_request_has_no_query()
    {
        // ApplicationInsightsLoggerOptions.cs:110-114 (dependency tracking on by default), WebJobsTelemetryInitializer.cs:175-179.
        var (telemetry, log) = Host("");
        telemetry.Forwarded("Callback", "GET", Callback, "http://127.0.0.1:5000/api/oauth/bybit/callback?code=the-code&state=the-state");
        log.Entries.ShouldContain(e => e.Category == "ApplicationInsights.Dependency" && e.Message.Contains("the-code", StringComparison.Ordinal));
        log.Entries.Single(e => e.Category == "ApplicationInsights.Request").Message.ShouldNotContain("the-code");

        var (off, offLog) = Host(", \"logging\": { \"applicationInsights\": { \"enableDependencyTracking\": false } }");
        off.Forwarded("Callback", "GET", Callback, "http://127.0.0.1:5000/api/oauth/bybit/callback?code=the-code&state=the-state");
        offLog.Entries.ShouldNotContain(e => e.Message.Contains("the-code", StringComparison.Ordinal));
    }
}
