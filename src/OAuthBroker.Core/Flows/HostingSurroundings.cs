using Microsoft.Extensions.Configuration;

namespace OAuthBroker.Flows;

/// <summary>
/// Where the broker runs, as far as a security decision needs to know: whether its public origin is loopback,
/// whether the Functions host started it, and whether it runs in Azure. Read from configuration, which carries the
/// process environment (the host starts a custom handler with its own environment plus the port variable).
/// Development conveniences (the development identity, an ephemeral sealing key) are allowed only on a developer's
/// machine, decided here and never by <c>ASPNETCORE_ENVIRONMENT</c> alone.
/// </summary>
public sealed record HostingSurroundings(bool LoopbackPublicBase, bool UnderFunctionsHost, bool InAzure)
{
    /// <summary>Set by the Functions host for a custom handler (azure-functions-host @89dc438, src/WebJobs.Script/Workers/Http/HttpWorkerProcess.cs:60).</summary>
    public const string FunctionsHostPortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";

    /// <summary>
    /// Variables only the platform sets. App Service (all plans, Functions included): <c>WEBSITE_INSTANCE_ID</c> and
    /// <c>WEBSITE_SITE_NAME</c>, "Read-only" in https://learn.microsoft.com/azure/app-service/reference-app-settings;
    /// the Functions host reads the site name on every plan (azure-functions-host @89dc438,
    /// src/WebJobs.Script/HostNameProvider.cs:42) and tests <c>WEBSITE_INSTANCE_ID</c> for App Service and
    /// <c>WEBSITE_POD_NAME</c> with <c>LEGION_SERVICE_HOST</c> for Flex Consumption
    /// (src/WebJobs.Script/Environment/EnvironmentExtensions.cs: IsAppService, IsLinuxConsumptionOnLegion).
    /// <c>CONTAINER_NAME</c>, which the host also reads, is left out: container runtimes set it everywhere.
    /// </summary>
    public static readonly string[] AzureVariables = ["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME", "WEBSITE_POD_NAME", "LEGION_SERVICE_HOST"];

    /// <summary>A developer's machine: the public origin is loopback and nothing says Azure.</summary>
    public bool IsDeveloperMachine => LoopbackPublicBase && !InAzure;

    public static HostingSurroundings From(IConfiguration configuration)
    {
        var publicBase = configuration[$"{BrokerOptions.SectionName}:{nameof(BrokerOptions.PublicBaseUrl)}"];
        var loopback = Uri.TryCreate(publicBase, UriKind.Absolute, out var uri) && uri.IsLoopback;
        return new HostingSurroundings(
            loopback,
            !string.IsNullOrEmpty(configuration[FunctionsHostPortVariable]),
            AzureVariables.Any(name => !string.IsNullOrEmpty(configuration[name])));
    }
}
