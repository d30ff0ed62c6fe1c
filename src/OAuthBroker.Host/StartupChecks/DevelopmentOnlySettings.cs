using OAuthBroker.Flows;
using OAuthBroker.Host.Backends;

namespace OAuthBroker.Host.StartupChecks;

/// <summary>
/// Settings that only make sense on a developer's machine stop the app anywhere else: the local Key Vault endpoint's
/// token and pinned certificate (they switch the vault client to the local endpoint's rules), and the backend key the
/// repository publishes in its samples (anyone who read the README knows it). "Anywhere else" is decided as for the
/// development identity (<see cref="Identity.DevelopmentIdentityRule"/>), never by <c>ASPNETCORE_ENVIRONMENT</c> alone:
/// <c>local.settings.example.json</c> sets it to Development, and a copied setting must not let the published key or the
/// local vault's settings into Azure. So they are refused outside Development <b>and</b> wherever a variable only the
/// platform sets says Azure (<see cref="HostingSurroundings.AzureVariables"/>).
/// </summary>
public static class DevelopmentOnlySettings
{
    /// <summary>Backend keys published in this repository (local.settings.example.json, the local environment, the README).</summary>
    public static readonly IReadOnlySet<string> PublishedBackendKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "local-development-backend-key-change-me-0123456789",
    };

    private static readonly string[] LocalVaultSettings = ["KeyVault:LocalAccessToken", "KeyVault:LocalCertificatePath"];

    /// <summary>The local run's webhook receiver certificate: trusted besides the system store, so never in production.</summary>
    private const string LocalReceiverCertificate = "Events:LocalCertificatePath";

    public static IEnumerable<string> Errors(IConfiguration configuration, IHostEnvironment environment)
    {
        var inAzure = HostingSurroundings.From(configuration).InAzure;
        if (environment.IsDevelopment() && !inAzure)
        {
            return [];
        }

        var where = inAzure ? $"Azure (one of {string.Join(", ", HostingSurroundings.AzureVariables)} is set)" : $"the {environment.EnvironmentName} environment";

        return LocalVaultSettings
            .Where(key => !string.IsNullOrEmpty(configuration[key]))
            .Select(key => $"{key} is for the local Key Vault endpoint and only allowed in the Development environment.")
            .Concat(string.IsNullOrEmpty(configuration[LocalReceiverCertificate]) ? [] : [$"{LocalReceiverCertificate} trusts a local webhook receiver's certificate and is only allowed in the Development environment."])
            .Concat(configuration.GetSection(BackendOptions.SectionName).GetChildren()
                .Where(backend => backend["Key"] is { } key && PublishedBackendKeys.Contains(key))
                .Select(backend => $"{BackendOptions.SectionName}:{backend.Key}:Key is the sample key published in this repository; generate a new one."))
            .Select(error => $"Not allowed in {where}: {error}")
            .ToList();
    }
}
