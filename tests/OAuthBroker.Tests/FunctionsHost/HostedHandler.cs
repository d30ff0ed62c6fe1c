using OAuthBroker.Tests.FunctionsHost.Emulation;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The built handler started by the emulated host as the host starts it (its own process, environment = app settings,
/// working directory = script root), on the fixture's Azurite in tables of its own, in the Production environment.
/// </summary>
public static class HostedHandler
{
    public static Task<FunctionsHostEmulator> StartAsync(BrokerEnvironmentFixture fixture, string tablePrefix, IDictionary<string, string>? settings = null)
    {
        var appSettings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // What infra sets (infra/app/resources.bicep), pointed at the local stand-ins.
            ["Broker__PublicBaseUrl"] = "https://broker.example.com",
            ["Storage__ConnectionString"] = fixture.Environment.Azurite.ConnectionString,
            ["Storage__LinksTable"] = tablePrefix + "Links",
            ["Storage__FlowsTable"] = tablePrefix + "Flows",
            ["Storage__ScheduleTable"] = tablePrefix + "Schedule",
            ["KeyVault__VaultUri"] = fixture.Environment.KeyVault.VaultUri.AbsoluteUri,
            ["Providers__bybit__ClientId"] = "hosted-client",
            ["Providers__bybit__ClientSecret"] = fixture.BybitClientSecret,
            ["Backends__platform__Key"] = fixture.BackendKey,
            ["Sealing__Keys__k1"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            [OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name] = "0 */5 * * * *",
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            appSettings[name] = value;
        }

        return FunctionsHostEmulator.StartAsync(new FunctionsHostOptions { ScriptRoot = HandlerProcess.ScriptRoot, AppSettings = appSettings });
    }
}
