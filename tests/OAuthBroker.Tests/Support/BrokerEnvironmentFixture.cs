using System.Security.Cryptography;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Sandbox;
using OAuthBroker.Sandbox.Faults;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// One real environment for the end-to-end tests: Azurite, the local Key Vault endpoint, the sandbox and the
/// broker, each on a free loopback port, with every log line captured. Secrets are random per run, so the
/// log-hygiene checks search for values nobody could have hard-coded.
/// </summary>
public class BrokerEnvironmentFixture : IAsyncLifetime
{
    private readonly string _certificateDirectory = Path.Combine(Path.GetTempPath(), "oauth-broker-tests", Guid.NewGuid().ToString("N"));

    public BrokerEnvironment Environment { get; private set; } = null!;
    public CapturedLogs Logs { get; } = new();
    public ManualClock BrokerClock { get; } = new();

    /// <summary>
    /// The sandbox's clock (real time unless a test moves it): tests that need a provider to judge token expiry at the
    /// same moment as the broker move both by the same amount, and put both back.
    /// </summary>
    public ManualClock SandboxClock { get; } = new();
    public string BybitClientSecret { get; } = "bybit-secret-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    public string VaultAccessToken { get; } = "vault-token-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    public string BuiltByBitClientSecret { get; } = "bbb/secret+" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    public string AcmeClientSecret { get; } = "acme secret/+&=" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    /// <summary>A backend allowed every provider, and one limited to BuiltByBit.</summary>
    public string BackendKey { get; } = "backend-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    public string LimitedBackendKey { get; } = "limited-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    public string WhiteBitClientSecret { get; } = "whitebit-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    public string GlobexClientSecret { get; } = "globex-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    /// <summary>Daemons registered at the sandbox issuer "alpha": one granted every provider's backend role, one only BuiltByBit's.</summary>
    public string DaemonClientSecret { get; } = "daemon-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>State values the tests saw in authorize redirects (searched for in logs too).</summary>
    public SecretLedger SeenSecrets { get; } = new();

    public Uri BrokerUri => Environment.BrokerUri;
    public SandboxOptions SandboxOptions => Environment.Sandbox.Services.GetRequiredService<IOptions<SandboxOptions>>().Value;
    public FaultInjector SandboxFaults => Environment.Sandbox.Services.GetRequiredService<FaultInjector>();
    public IssuedSecrets SandboxIssued { get; private set; } = null!;

    /// <summary>A real SecretClient on the local vault, as the broker has it.</summary>
    public SecretClient SecretClient => Environment.Broker.Services.GetRequiredService<SecretClient>();

    public async Task InitializeAsync()
    {
        var settings = LocalEnvironmentSettings.Isolated(_certificateDirectory);
        settings.BybitClientSecret = BybitClientSecret;
        settings.VaultAccessToken = VaultAccessToken;
        settings.BuiltByBitClientSecret = BuiltByBitClientSecret;
        settings.AcmeClientSecret = AcmeClientSecret;
        settings.GlobexClientSecret = GlobexClientSecret;
        settings.WhiteBitClientSecret = WhiteBitClientSecret;
        // Short enough that the timeout test does not drag, long enough for a loaded CI machine.
        settings.BrokerSettings["Broker:ProviderTimeout"] = "00:00:03";
        // The tests run sweeps themselves; a timer firing in the middle of a test would make outcomes racy.
        settings.BrokerSettings["Refresh:RunInProcess"] = "false";
        // The suite sends far more than a person would; the rate limit has its own test on its own instance.
        settings.BrokerSettings["Broker:AnonymousRequestsPerMinute"] = "1000000";
        // Tests read the event log right after the change; the listing delay guards appends in flight on loaded machines.
        settings.BrokerSettings["Events:ListingDelay"] = "00:00:00";
        settings.BrokerSettings["Broker:AllowedReturnOrigins:0"] = "http://localhost:5173";
        // The frontend's registered completion pages (index 0 is the broker's own demo page, set by the environment).
        settings.BrokerSettings["Broker:CompletionPages:1"] = "http://localhost:5173/connected";
        settings.BrokerSettings["Broker:CompletionPages:2"] = "http://localhost:5173/demo/callback.html";
        // End users may also come with a bearer JWT from the platform's identity provider: the sandbox issuer "alpha".
        settings.BrokerSettings["Authentication:JwtAuthority"] = $"http://127.0.0.1:{settings.SandboxPort}/oidc/alpha";
        settings.BrokerSettings["Authentication:JwtAudience"] = "sandbox-acme-client";
        settings.BrokerSettings["Backends:platform:Key"] = BackendKey;
        settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:ClientId"] = SandboxIdentity.AllProvidersDaemon;
        settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:ClientSecret"] = DaemonClientSecret;
        settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:1:AppRoles:0"] = "OAuthBroker.Backend";
        settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:2:ClientId"] = SandboxIdentity.BuiltByBitDaemon;
        settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:2:ClientSecret"] = DaemonClientSecret;
        settings.SandboxSettings["Sandbox:Oidc:Tenants:alpha:Clients:2:AppRoles:0"] = "OAuthBroker.Backend.builtbybit";
        settings.BrokerSettings["Backends:limited:Key"] = LimitedBackendKey;
        settings.BrokerSettings["Backends:limited:Providers:0"] = "builtbybit";
        // WhiteBIT's classic flow beside the Fast API Key one, on a client whose first redirect URI is its own.
        settings.SandboxSettings["Sandbox:WhiteBit:Clients:1:ClientId"] = "sandbox-whitebit-classic";
        settings.SandboxSettings["Sandbox:WhiteBit:Clients:1:ClientSecret"] = WhiteBitClientSecret;
        settings.SandboxSettings["Sandbox:WhiteBit:Clients:1:RedirectUris:0"] = "http://127.0.0.1:" + settings.BrokerPort + "/api/oauth/whitebit-classic/callback";
        settings.BrokerSettings["Providers:whitebit-classic:Dialect"] = "whitebit";
        settings.BrokerSettings["Providers:whitebit-classic:Flow"] = "Classic";
        settings.BrokerSettings["Providers:whitebit-classic:ClientId"] = "sandbox-whitebit-classic";
        settings.BrokerSettings["Providers:whitebit-classic:ClientSecret"] = WhiteBitClientSecret;
        settings.BrokerSettings["Providers:whitebit-classic:ServerUrl"] = "http://127.0.0.1:" + settings.SandboxPort + "/whitebit";
        settings.ConfigureBroker = builder =>
        {
            builder.Logging.AddProvider(Logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Services.AddSingleton<TimeProvider>(BrokerClock);
        };
        settings.ConfigureSandbox = builder =>
        {
            builder.Logging.AddProvider(Logs);
            builder.Services.AddSingleton<TimeProvider>(SandboxClock);
        };
        settings.ConfigureKeyVault = builder => builder.Logging.AddProvider(Logs);
        SeenSecrets.Add(BybitClientSecret);
        SeenSecrets.Add(VaultAccessToken);
        SeenSecrets.Add(BuiltByBitClientSecret);
        SeenSecrets.Add(AcmeClientSecret);
        SeenSecrets.Add(GlobexClientSecret);
        SeenSecrets.Add(DaemonClientSecret);
        SeenSecrets.Add(WhiteBitClientSecret);
        SeenSecrets.Add(BackendKey);
        SeenSecrets.Add(LimitedBackendKey);
        Configure(settings);
        Environment = await BrokerEnvironment.StartAsync(settings);
        SandboxIssued = Environment.Sandbox.Services.GetRequiredService<IssuedSecrets>();
        await StartedAsync();
    }

    /// <summary>Last word on the settings before the environment starts (a derived fixture puts the Functions host in front).</summary>
    protected virtual void Configure(LocalEnvironmentSettings settings)
    {
    }

    protected virtual Task StartedAsync() => Task.CompletedTask;

    protected virtual Task StoppingAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await StoppingAsync();
        await Environment.DisposeAsync();
        try
        {
            Directory.Delete(_certificateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Temp folder; leaving it is harmless.
        }

        // The whole run's logs, once more, after everything stopped (shutdown logs included).
        LogAssertions.ContainNone(Logs.Lines, SeenSecrets.All.Concat(SandboxIssued.All));
    }

    public BrowserSession NewBrowser(string? user = null) => new(this, user);

    public T Broker<T>() where T : notnull => Environment.Broker.Services.GetRequiredService<T>();

    public T Sandbox<T>() where T : notnull => Environment.Sandbox.Services.GetRequiredService<T>();

    /// <summary>The vaulted credential of a link, read the way the broker reads it (and recorded as seen).</summary>
    public async Task<OAuthBroker.Providers.ProviderCredential> CredentialOfAsync(string user, string provider, string accountId)
    {
        var link = await Environment.Broker.Services.GetRequiredService<OAuthBroker.Links.IAccountLinkStore>().GetAsync(user, provider, accountId, default);
        var vaulted = await Environment.Broker.Services.GetRequiredService<OAuthBroker.Credentials.ICredentialVault>().ReadAsync(link!.CredentialName, default);
        var credential = vaulted!.Credential;
        SeenSecrets.Add(credential.AccessToken);
        SeenSecrets.Add(credential.RefreshToken);
        SeenSecrets.Add(credential.ApiSecret);
        return credential;
    }
}

[CollectionDefinition(Name)]
public sealed class BrokerEnvironmentGroup : ICollectionFixture<BrokerEnvironmentFixture>
{
    public const string Name = "Broker environment";
}
