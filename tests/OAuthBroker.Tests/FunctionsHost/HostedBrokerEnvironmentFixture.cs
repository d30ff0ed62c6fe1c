using System.Text.Json;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.FunctionsHost.Emulation;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The end-to-end environment with the Functions host in front of the broker, as on Flex Consumption: clients call the
/// emulated host on the broker's public port; the host forwards to the handler, which listens on
/// <c>FUNCTIONS_CUSTOMHANDLER_PORT</c> with the script root in <c>FUNCTIONS_APP_ROOT_PATH</c>. The handler runs in the
/// test process (so the tests keep its clock and its stores, as the standalone suites do); the contract tests start it
/// as its own process the way the host does (<see cref="WorkerProcess"/>). The platform CORS settings are the ones infra
/// derives from the same allowed origins.
/// </summary>
public sealed class HostedBrokerEnvironmentFixture : BrokerEnvironmentFixture
{
    private int _handlerPort;
    private int _publicPort;
    private string[] _allowedOrigins = [];

    private const string IdentityProvider = "aad";

    /// <summary>The default schedule, every minute, as infra sets it (infra/main.bicep <c>refreshSchedule</c>).</summary>
    private const string TimerSchedule = "0 * * * * *";

    public FunctionsHostEmulator Host { get; private set; } = null!;

    /// <summary>The function key backends send (a host key, as <c>az functionapp keys list</c> gives it).</summary>
    public string FunctionKey => Host.Keys.DefaultHostKey;

    protected override void Configure(LocalEnvironmentSettings settings)
    {
        _handlerPort = FreePort.Next();
        _publicPort = settings.BrokerPort;
        settings.BrokerInstanceSettings["FUNCTIONS_CUSTOMHANDLER_PORT"] = _handlerPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings.BrokerInstanceSettings["FUNCTIONS_APP_ROOT_PATH"] = HandlerProcess.ScriptRoot;
        // For this broker only (other instances the tests start from BrokerArguments stay standalone).
        // The development identity stays off under the Functions host; users come as in Azure, through App Service
        // Authentication (the emulation injects the principal for the test browser's session, see AppServiceAuthentication).
        settings.BrokerInstanceSettings["Authentication:DevelopmentIdentity"] = "false";
        settings.BrokerInstanceSettings["Authentication:TrustEasyAuthHeaders"] = "true";
        settings.BrokerInstanceSettings["Authentication:EasyAuthIdentityProvider"] = IdentityProvider;
        // The timer's schedule, which the app reads too (its renewal horizon, start-up's PendingRenewalFit).
        settings.BrokerInstanceSettings[OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name] = TimerSchedule;
        settings.BrokerInstanceSettings["WEBSITE_AUTH_ENABLED"] = "True";
        _allowedOrigins = settings.BrokerSettings.Where(s => s.Key.StartsWith("Broker:AllowedReturnOrigins:", StringComparison.OrdinalIgnoreCase)).Select(s => s.Value!).ToArray();
    }

    protected override async Task StartedAsync()
    {
        Host = await FunctionsHostEmulator.StartAsync(new FunctionsHostOptions
        {
            ScriptRoot = HandlerProcess.ScriptRoot,
            Port = _publicPort,
            RunningHandlerPort = _handlerPort,
            Authentication = new AppServiceAuthentication(SessionCookie: "dev_user", IdentityProvider),
            AppSettings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name] = TimerSchedule,
                [PlatformCors.AllowedOriginsSetting] = JsonSerializer.Serialize(_allowedOrigins),
                [PlatformCors.SupportCredentialsSetting] = "true",
            },
        });
    }

    protected override async Task StoppingAsync()
    {
        // What the host wrote and recorded, searched like the apps' own logs.
        LogAssertions.ContainNone(Host.Log.Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}").ToList(), SeenSecrets.All.Concat(SandboxIssued.All));
        await Host.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class HostedBrokerEnvironmentGroup : ICollectionFixture<HostedBrokerEnvironmentFixture>
{
    public const string Name = "Broker environment under the Functions host";
}
