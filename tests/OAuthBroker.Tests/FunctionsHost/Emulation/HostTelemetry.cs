using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// What the host records about a forwarded request, as far as URLs go (codes, state and tickets travel in them), under
/// host.json's <c>logging</c> section:
/// <list type="bullet">
/// <item>the web host's request trace of category <c>Microsoft.AspNetCore.Hosting.Diagnostics</c> at Information, with
/// the query string — dropped by the web host's own filter at 4.1037, recorded subject to <c>logging.logLevel</c> (category
/// prefix, else <c>default</c>) as reported for later hosts: see <see cref="RequestTraceReading"/> (<see cref="Reading"/>
/// switches);</item>
/// <item>a dependency per call to the handler, with the full URL, while <c>logging.applicationInsights.enableDependencyTracking</c>
/// is true, its default (azure-webjobs-sdk <c>Logging.ApplicationInsights/ApplicationInsightsLoggerOptions.cs:110-114</c>,
/// <c>Extensions/ApplicationInsightsServiceCollectionExtensions.cs:125-160</c>; #11602: "With enableDependencyTracking: false,
/// the offending DependencyTelemetry no longer shows up"; host PR #11609 filters these only in 2026 hosts);</item>
/// <item>the request itself, without its query unless <c>enableQueryStringTracing</c> (default false;
/// <c>Initializers/WebJobsTelemetryInitializer.cs:175-179</c>, <c>ApplicationInsightsLoggerOptions.cs:138</c>).</item>
/// </list>
/// </summary>
public sealed class HostTelemetry(ScriptRoot root, HostLog log)
{
    public const string RequestTraceCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>Which source's behaviour the request trace follows; the host source's by default.</summary>
    public RequestTraceReading Reading { get; set; } = RequestTraceReading.SystemCategoriesOnly;

    private JsonElement Logging => root.Host.TryGetProperty("logging", out var l) ? l : default;

    private JsonElement ApplicationInsights => Logging.ValueKind == JsonValueKind.Object && Logging.TryGetProperty("applicationInsights", out var a) ? a : default;

    public bool DependencyTracking => Flag("enableDependencyTracking", true);

    public bool QueryStringTracing => Flag("enableQueryStringTracing", false);

    public void RequestStarting(string method, string displayUrl)
    {
        if (Reading == RequestTraceReading.HostJsonLogLevel)
        {
            Trace(LogLevel.Information, RequestTraceCategory, $"Request starting HTTP/1.1 {method} {displayUrl}");
        }
    }

    public void Forwarded(string function, string method, string displayUrl, string forwardedUri)
    {
        if (DependencyTracking)
        {
            log.Add(LogLevel.Information, "ApplicationInsights.Dependency", $"HTTP {method} {forwardedUri}");
        }

        var url = QueryStringTracing ? displayUrl : new Uri(displayUrl).GetLeftPart(UriPartial.Path);
        log.Add(LogLevel.Information, "ApplicationInsights.Request", $"{function} {method} {url}");
    }

    /// <summary>The level below which host.json drops a category: the longest matching <c>logLevel</c> key, else <c>default</c>.</summary>
    public LogLevel MinimumLevel(string category)
    {
        if (Logging.ValueKind != JsonValueKind.Object || !Logging.TryGetProperty("logLevel", out var levels))
        {
            return LogLevel.Information;
        }

        var match = levels.EnumerateObject()
            .Where(p => p.Name != "default" && (category == p.Name || category.StartsWith(p.Name + ".", StringComparison.OrdinalIgnoreCase)))
            .OrderByDescending(p => p.Name.Length)
            .Select(p => p.Value.GetString())
            .FirstOrDefault()
            ?? (levels.TryGetProperty("default", out var d) ? d.GetString() : null);
        return match is null ? LogLevel.Information : Enum.Parse<LogLevel>(match, ignoreCase: true);
    }

    private void Trace(LogLevel level, string category, string message)
    {
        if (level >= MinimumLevel(category))
        {
            log.Add(level, category, message);
        }
    }

    private bool Flag(string name, bool fallback) =>
        ApplicationInsights.ValueKind == JsonValueKind.Object && ApplicationInsights.TryGetProperty(name, out var value) ? value.GetBoolean() : fallback;
}
