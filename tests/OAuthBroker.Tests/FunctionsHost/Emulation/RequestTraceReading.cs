namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// Whether the web host's ASP.NET Core request trace (<c>Microsoft.AspNetCore.Hosting.Diagnostics</c>) reaches the host's
/// log and telemetry. The sources disagree by version, so the emulation has both readings and the tests run both.
/// </summary>
public enum RequestTraceReading
{
    /// <summary>
    /// The host source at 4.1037 (89dc438): the web host's logging is <c>AddDefaultWebJobsFilters()</c>
    /// (<c>src/WebJobs.Script.WebHost/Program.cs:85-93</c>): minimum level None and a filter passing only categories
    /// starting with <c>Microsoft.Azure.WebJobs.</c>, <c>Function.</c>, <c>Worker.</c> or <c>Host.</c> at Information
    /// (<c>src/WebJobs.Script/Extensions/ScriptLoggingBuilderExtensions.cs:19-41</c>,
    /// <c>src/WebJobs.Script/ScriptConstants.cs:241</c>). The request trace is dropped whatever host.json says.
    /// </summary>
    SystemCategoriesOnly,

    /// <summary>
    /// As reported for later hosts (azure-functions-host #11602: the trace "contains the function key in the Message and
    /// QueryString fields ... The category name is Microsoft.AspNetCore.Hosting.Diagnostics"): it is recorded, subject to
    /// host.json's <c>logging.logLevel</c>.
    /// </summary>
    HostJsonLogLevel,
}
