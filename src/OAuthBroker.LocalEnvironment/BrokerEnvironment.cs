using System.Globalization;
using System.Security.Cryptography;
using OAuthBroker.Events;
using OAuthBroker.Host;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Sandbox;

namespace OAuthBroker.LocalEnvironment;

/// <summary>
/// Azurite + local Key Vault endpoint + provider sandbox + broker, started in that order and wired together:
/// the broker's storage is Azurite, its vault the local endpoint (pinned certificate, bearer challenge), and
/// Bybit points at the sandbox; unless switched off, a webhook receiver gets the broker's link events. Disposing stops everything.
/// </summary>
public sealed class BrokerEnvironment : IAsyncDisposable
{
    private string[] _brokerArguments = [];

    /// <summary>The broker's settings as command-line arguments (to start it as a separate process, e.g. for benchmarks).</summary>
    public IReadOnlyList<string> BrokerArguments => _brokerArguments;
    private Action<WebApplicationBuilder>? _configureBroker;

    /// <summary>The Key Vault secret holding the demo endpoint's signing secret.</summary>
    public const string ReceiverSecretName = "webhook-demo";

    private BrokerEnvironment(AzuriteServer azurite, LocalKeyVaultApp keyVault, DemoWebhookReceiver? receiver, WebApplication sandbox, WebApplication broker, Uri brokerUri, Uri sandboxUri)
    {
        EventsReceiver = receiver;
        Azurite = azurite;
        KeyVault = keyVault;
        Sandbox = sandbox;
        Broker = broker;
        BrokerUri = brokerUri;
        SandboxUri = sandboxUri;
    }

    public AzuriteServer Azurite { get; }
    public LocalKeyVaultApp KeyVault { get; }

    /// <summary>The webhook receiver the broker delivers link events to (endpoint <c>demo</c>); null when switched off.</summary>
    public DemoWebhookReceiver? EventsReceiver { get; }
    public WebApplication Sandbox { get; }
    public WebApplication Broker { get; }
    public Uri BrokerUri { get; }
    public Uri SandboxUri { get; }

    public static async Task<BrokerEnvironment> StartAsync(LocalEnvironmentSettings settings)
    {
        var root = RepositoryRoot.Find();
        var data = settings.DataDirectory is null ? null : Path.Combine(root, settings.DataDirectory);
        var brokerUri = new Uri($"http://{settings.PublicHost}:{settings.BrokerPort}/");
        var sandboxUri = new Uri($"http://{settings.PublicHost}:{settings.SandboxPort}/");

        var azurite = await AzuriteServer.StartAsync(root, settings.AzuritePort, data is null ? null : Path.Combine(data, "azurite"));
        LocalKeyVaultApp? keyVault = null;
        DemoWebhookReceiver? receiver = null;
        WebApplication? sandbox = null;
        try
        {
            keyVault = await LocalKeyVaultApp.StartAsync(new LocalKeyVaultSettings
            {
                Port = settings.KeyVaultPort,
                AccessToken = settings.VaultAccessToken,
                CertificateDirectory = settings.CertificateDirectory ?? Path.Combine(data ?? Path.GetTempPath(), "keyvault"),
                DataFile = data is null ? null : Path.Combine(data, "keyvault", "secrets.json"),
            }, settings.ConfigureKeyVault);
            if (settings.EventsReceiver)
            {
                var certificates = data ?? settings.CertificateDirectory ?? Path.GetTempPath();
                receiver = await DemoWebhookReceiver.StartAsync(settings.EventsReceiverPort, Path.Combine(certificates, "receiver"), ReceiverSecret(keyVault.Store));
            }

            string Callback(string provider) => new Uri(brokerUri, $"api/oauth/{provider}/callback").AbsoluteUri;
            sandbox = SandboxApp.Create(Arguments(new Dictionary<string, string?>
            {
                ["urls"] = $"http://{settings.PublicHost}:{settings.SandboxPort}",
                ["Sandbox:Bybit:Clients:0:ClientId"] = settings.BybitClientId,
                ["Sandbox:Bybit:Clients:0:ClientSecret"] = settings.BybitClientSecret,
                ["Sandbox:Bybit:Clients:0:RedirectUris:0"] = Callback("bybit"),
                ["Sandbox:BuiltByBit:Clients:0:ClientId"] = settings.BuiltByBitClientId,
                ["Sandbox:BuiltByBit:Clients:0:ClientSecret"] = settings.BuiltByBitClientSecret,
                ["Sandbox:BuiltByBit:Clients:0:RedirectUris:0"] = Callback("builtbybit"),
                ["Sandbox:WhiteBit:Clients:0:ClientId"] = "sandbox-whitebit-client",
                ["Sandbox:WhiteBit:Clients:0:ClientSecret"] = settings.WhiteBitClientSecret,
                ["Sandbox:WhiteBit:Clients:0:RedirectUris:0"] = Callback("whitebit"),
                ["Sandbox:Oidc:Tenants:alpha:Clients:0:ClientId"] = "sandbox-acme-client",
                ["Sandbox:Oidc:Tenants:alpha:Clients:0:ClientSecret"] = settings.AcmeClientSecret,
                ["Sandbox:Oidc:Tenants:alpha:Clients:0:RedirectUris:0"] = Callback("acme"),
                ["Sandbox:Oidc:Tenants:beta:IssParameter"] = "false",
                ["Sandbox:Oidc:Tenants:beta:Clients:0:ClientId"] = "sandbox-globex-client",
                ["Sandbox:Oidc:Tenants:beta:Clients:0:ClientSecret"] = settings.GlobexClientSecret,
                ["Sandbox:Oidc:Tenants:beta:Clients:0:RedirectUris:0"] = Callback("globex"),
            }, settings.SandboxSettings), settings.ConfigureSandbox);
            await sandbox.StartAsync();

            var brokerArguments = Arguments(new Dictionary<string, string?>
            {
                // "localhost" binds both loopback addresses, as browsers may resolve it to either.
                ["urls"] = $"http://{settings.PublicHost}:{settings.BrokerPort}",
                ["environment"] = "Development",
                ["Authentication:DevelopmentIdentity"] = "true",
                ["Broker:PublicBaseUrl"] = brokerUri.GetLeftPart(UriPartial.Authority),
                // The demo's return page completes flows started with a completion challenge (a bearer token in the demo).
                ["Broker:CompletionPages:0"] = new Uri(brokerUri, "/demo/callback.html").AbsoluteUri,
                ["Storage:ConnectionString"] = azurite.ConnectionString,
                ["Backends:platform:Key"] = settings.BackendKey,
                ["KeyVault:VaultUri"] = keyVault.VaultUri.AbsoluteUri,
                ["KeyVault:LocalAccessToken"] = settings.VaultAccessToken,
                ["KeyVault:LocalCertificatePath"] = keyVault.CertificatePath,
                ["Providers:bybit:ClientId"] = settings.BybitClientId,
                ["Providers:bybit:ClientSecret"] = settings.BybitClientSecret,
                ["Providers:bybit:AuthorizeUrl"] = new Uri(sandboxUri, "bybit/en/oauth").AbsoluteUri,
                ["Providers:bybit:ApiBaseUrl"] = new Uri(sandboxUri, "bybit").AbsoluteUri,
                ["Providers:builtbybit:ClientId"] = settings.BuiltByBitClientId,
                ["Providers:builtbybit:ClientSecret"] = settings.BuiltByBitClientSecret,
                ["Providers:builtbybit:AuthorizeUrl"] = new Uri(sandboxUri, "builtbybit/account/external/authorize").AbsoluteUri,
                ["Providers:builtbybit:ApiBaseUrl"] = new Uri(sandboxUri, "builtbybit").AbsoluteUri,
                ["Providers:whitebit:ClientId"] = "sandbox-whitebit-client",
                ["Providers:whitebit:ClientSecret"] = settings.WhiteBitClientSecret,
                ["Providers:whitebit:ServerUrl"] = new Uri(sandboxUri, "whitebit").AbsoluteUri,
                ["Providers:whitebit:ApiKeyServerUrl"] = new Uri(sandboxUri, "whitebit").AbsoluteUri,
                ["Providers:whitebit:ApiKeyPollInterval"] = "00:00:00.300",
                ["Providers:whitebit:LockedInitialBackoff"] = "00:00:00.200",
                ["Providers:whitebit:LockedMaxBackoff"] = "00:00:01",
                ["Providers:whitebit:KeyDeletionLockedTotalWait"] = "00:00:03",
                // Two standard providers, configuration only: one by discovery, one by explicit endpoints.
                ["Providers:acme:Dialect"] = "oauth2",
                ["Providers:acme:DisplayName"] = "Acme ID (OpenID Connect)",
                ["Providers:acme:Issuer"] = new Uri(sandboxUri, "oidc/alpha").AbsoluteUri,
                ["Providers:acme:ClientId"] = "sandbox-acme-client",
                ["Providers:acme:ClientSecret"] = settings.AcmeClientSecret,
                ["Providers:acme:Scopes:0"] = "openid",
                ["Providers:acme:Scopes:1"] = "profile",
                ["Providers:globex:Dialect"] = "oauth2",
                ["Providers:globex:DisplayName"] = "Globex (OAuth 2.0)",
                ["Providers:globex:Issuer"] = new Uri(sandboxUri, "oidc/beta").AbsoluteUri,
                ["Providers:globex:AuthorizationEndpoint"] = new Uri(sandboxUri, "oidc/beta/authorize").AbsoluteUri,
                ["Providers:globex:TokenEndpoint"] = new Uri(sandboxUri, "oidc/beta/token").AbsoluteUri,
                ["Providers:globex:UserinfoEndpoint"] = new Uri(sandboxUri, "oidc/beta/userinfo").AbsoluteUri,
                ["Providers:globex:RevocationEndpoint"] = new Uri(sandboxUri, "oidc/beta/revoke").AbsoluteUri,
                ["Providers:globex:ClientAuthentication"] = "ClientSecretPost",
                ["Providers:globex:ClientId"] = "sandbox-globex-client",
                ["Providers:globex:ClientSecret"] = settings.GlobexClientSecret,
                ["Providers:globex:Scopes:0"] = "profile",
                ["Providers:globex:AccountIdSource"] = "Userinfo",
                ["Providers:globex:AccountIdClaim"] = "profile.id",
            }.Concat(receiver is null ? new Dictionary<string, string?>() : ReceiverSettings(receiver)).ToDictionary(), settings.BrokerSettings);
            var broker = BrokerApp.Create([.. brokerArguments, .. Arguments(new Dictionary<string, string?>(), settings.BrokerInstanceSettings)], builder =>
            {
                builder.Services.AddSingleton<IStartupFilter>(new LoopbackHostRedirect(brokerUri));
                builder.Services.AddSingleton<IStartupFilter>(new ReceivedEventsFeed(receiver));
                settings.ConfigureBroker?.Invoke(builder);
            });
            await broker.StartAsync();

            return new BrokerEnvironment(azurite, keyVault, receiver, sandbox, broker, brokerUri, sandboxUri)
            {
                _brokerArguments = brokerArguments,
                _configureBroker = settings.ConfigureBroker,
            };
        }
        catch
        {
            if (sandbox is not null)
            {
                await sandbox.DisposeAsync();
            }

            if (receiver is not null)
            {
                await receiver.DisposeAsync();
            }

            if (keyVault is not null)
            {
                await keyVault.DisposeAsync();
            }

            await azurite.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Another broker instance on the same storage, vault and providers (as a scaled-out function app would have);
    /// the caller stops it.
    /// </summary>
    public async Task<WebApplication> StartBrokerInstanceAsync(int port, params string[] extraArguments)
    {
        var arguments = _brokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal)).Append($"--urls=http://127.0.0.1:{port}").Concat(extraArguments).ToArray();
        var instance = BrokerApp.Create(arguments, _configureBroker);
        await instance.StartAsync();
        return instance;
    }

    public async ValueTask DisposeAsync()
    {
        await StopQuietlyAsync(Broker);
        await StopQuietlyAsync(Sandbox);
        if (EventsReceiver is not null)
        {
            await EventsReceiver.DisposeAsync();
        }

        await KeyVault.DisposeAsync();
        await Azurite.DisposeAsync();
    }

    private static async Task StopQuietlyAsync(WebApplication app)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(timeout.Token);
        await app.DisposeAsync();
    }

    /// <summary>
    /// The receiver's signing secret: the one already in the local vault (kept in the data folder across restarts), or a
    /// new <c>whsec_</c> secret of 32 random bytes (Standard Webhooks allows 24–64) put there for the broker to read.
    /// </summary>
    private static string ReceiverSecret(SecretStore vault)
    {
        if (vault.Get(ReceiverSecretName, null) is { Version.Enabled: true } stored && WebhookSecret.ParseAll(stored.Version.Value) is not null)
        {
            return stored.Version.Value;
        }

        var secret = WebhookSecret.Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        if (vault.Set(ReceiverSecretName, secret, null, null).Outcome == SecretStore.SetOutcome.NameIsDeleted)
        {
            vault.Purge(ReceiverSecretName);
            vault.Set(ReceiverSecretName, secret, null, null);
        }

        return secret;
    }

    /// <summary>
    /// The broker's endpoint <c>demo</c> on the receiver, its certificate pinned, and a run every two seconds with a
    /// one-second listing delay, so a person sees an event within seconds. Local run only: the production defaults are a
    /// run every five minutes and a one-minute delay (docs/events.md).
    /// </summary>
    private static Dictionary<string, string?> ReceiverSettings(DemoWebhookReceiver receiver) => new()
    {
        ["Events:Endpoints:demo:Url"] = receiver.Url.AbsoluteUri,
        ["Events:Endpoints:demo:SecretName"] = ReceiverSecretName,
        ["Events:LocalCertificatePath"] = receiver.CertificatePath,
        ["Events:ListingDelay"] = "00:00:01",
        ["Refresh:Schedule"] = "*/2 * * * * *",
    };

    /// <summary>Settings as <c>--key=value</c> arguments, overrides last (command-line configuration wins).</summary>
    private static string[] Arguments(Dictionary<string, string?> defaults, Dictionary<string, string?> overrides) =>
        defaults.Concat(overrides).Where(pair => pair.Value is not null)
            .Select(pair => string.Create(CultureInfo.InvariantCulture, $"--{pair.Key}={pair.Value}")).ToArray();
}
