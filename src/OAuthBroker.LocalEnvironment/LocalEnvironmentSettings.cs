namespace OAuthBroker.LocalEnvironment;

/// <summary>How to start the local environment. Defaults are the documented local ports.</summary>
public sealed class LocalEnvironmentSettings
{
    private static readonly string[] OwnSettings = [nameof(BrokerPort), nameof(SandboxPort), nameof(KeyVaultPort), nameof(AzuritePort), nameof(PublicHost), nameof(DataDirectory), nameof(EventsReceiverPort), nameof(EventsReceiver)];

    public int BrokerPort { get; set; } = 7071;
    public int SandboxPort { get; set; } = 7080;
    public int KeyVaultPort { get; set; } = 7443;
    public int AzuritePort { get; set; } = 10002;

    /// <summary>The local webhook receiver's HTTPS port (the platform's side of link events, shown on the demo page).</summary>
    public int EventsReceiverPort { get; set; } = 7444;

    /// <summary>
    /// Whether to run the webhook receiver and deliver events to it every two seconds. On in the local run; off in the
    /// shared test environment, whose tests run deliveries themselves on their own clocks.
    /// </summary>
    public bool EventsReceiver { get; set; } = true;

    /// <summary>Host name browsers use for the broker and the sandbox. Default <c>localhost</c>.</summary>
    public string PublicHost { get; set; } = "localhost";

    /// <summary>Folder for Azurite data, the vault's secrets and certificate. Null: memory only (tests).</summary>
    public string? DataDirectory { get; set; } = ".local";

    /// <summary>Folder for the local vault's certificate when <see cref="DataDirectory"/> is null.</summary>
    public string? CertificateDirectory { get; set; }

    public string BybitClientId { get; set; } = "sandbox-bybit-client";
    public string BybitClientSecret { get; set; } = "sandbox-bybit-secret";
    public string BuiltByBitClientId { get; set; } = "sandbox-builtbybit-client";
    /// <summary>Contains '/' on purpose: BuiltByBit secrets may, and the raw Basic encoding must survive it.</summary>
    public string BuiltByBitClientSecret { get; set; } = "sandbox/builtbybit+secret=";
    public string WhiteBitClientSecret { get; set; } = "sandbox-whitebit-secret";
    /// <summary>Generic OpenID Connect provider "acme" (sandbox issuer alpha: discovery, client_secret_basic, iss).</summary>
    public string AcmeClientSecret { get; set; } = "sandbox acme/secret+&=";
    /// <summary>Generic OAuth 2.0 provider "globex" (sandbox issuer beta: endpoints by configuration, client_secret_post, userinfo id).</summary>
    public string GlobexClientSecret { get; set; } = "sandbox-globex-secret";
    public string VaultAccessToken { get; set; } = "local-development-vault-token";

    /// <summary>Key of the local "platform" backend for the credential endpoints (header X-Api-Key).</summary>
    public string BackendKey { get; set; } = "local-development-backend-key-change-me-0123456789";

    /// <summary>Extra broker settings (configuration keys with ':'), applied last.</summary>
    public Dictionary<string, string?> BrokerSettings { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Settings for this environment's broker only, not for other instances started from <see cref="BrokerEnvironment.BrokerArguments"/>
    /// (e.g. running it as a custom handler behind a Functions host).
    /// </summary>
    public Dictionary<string, string?> BrokerInstanceSettings { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Extra sandbox settings (configuration keys with ':'), applied last.</summary>
    public Dictionary<string, string?> SandboxSettings { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Action<WebApplicationBuilder>? ConfigureBroker { get; set; }
    public Action<WebApplicationBuilder>? ConfigureSandbox { get; set; }
    public Action<WebApplicationBuilder>? ConfigureKeyVault { get; set; }

    /// <summary>
    /// The local run's settings from its command line: <c>--BrokerPort=</c>, <c>--SandboxPort=</c>, <c>--KeyVaultPort=</c>,
    /// <c>--AzuritePort=</c>, <c>--PublicHost=</c> (<c>localhost</c> or <c>127.0.0.1</c>), <c>--DataDirectory=</c>; any
    /// <c>--Sandbox:…</c> key is a sandbox setting and any other key a broker setting (e.g. <c>--Providers:github:ClientId=…</c>).
    /// </summary>
    public static LocalEnvironmentSettings FromArguments(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
        var settings = new LocalEnvironmentSettings();
        configuration.Bind(settings);
        if (settings.PublicHost is not ("localhost" or "127.0.0.1"))
        {
            throw new ArgumentException("--PublicHost must be localhost or 127.0.0.1: browsers treat only loopback http as a secure context for the demo.");
        }

        foreach (var (key, value) in configuration.AsEnumerable().Where(s => s.Value is not null && !OwnSettings.Contains(s.Key, StringComparer.OrdinalIgnoreCase)))
        {
            (key.StartsWith("Sandbox:", StringComparison.OrdinalIgnoreCase) ? settings.SandboxSettings : settings.BrokerSettings)[key] = value;
        }

        return settings;
    }

    /// <summary>Free ports everywhere, memory-only storage, loopback address: what the tests use.</summary>
    public static LocalEnvironmentSettings Isolated(string certificateDirectory) => new()
    {
        BrokerPort = FreePort.Next(),
        SandboxPort = FreePort.Next(),
        KeyVaultPort = FreePort.Next(),
        AzuritePort = FreePort.Next(),
        EventsReceiverPort = FreePort.Next(),
        EventsReceiver = false,
        PublicHost = "127.0.0.1",
        DataDirectory = null,
        CertificateDirectory = certificateDirectory,
    };
}
