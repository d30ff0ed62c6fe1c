using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Events;
using OAuthBroker.Flows;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Flows;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Refresh;
using OAuthBroker.Storage.Scheduling;
using OAuthBroker.Storage.Sealing;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Storage.Vault;

namespace OAuthBroker.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>Table Storage for links and flows, Key Vault for credentials.</summary>
    public static IServiceCollection AddBrokerStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptions.Validator>());
        services.AddOptions<KeyVaultOptions>().Bind(configuration.GetSection(KeyVaultOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyVaultOptions>, KeyVaultOptions.Validator>());

        // Note: one credential instance for the app, so managed-identity tokens are cached and shared.
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());

        // Lease times come from the Table service's clock, learnt from every Table response (TableServerClock).
        services.TryAddSingleton<TableServerClock>();
        services.TryAddSingleton<ILeaseClock>(sp => sp.GetRequiredService<TableServerClock>());

        AddEventStorage(services);
        services.TryAddSingleton(sp =>
            new TableAccountLinkStore(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.LinksTable)), sp.GetRequiredService<LinkOutbox>()));
        services.TryAddSingleton<IAccountLinkStore>(sp => sp.GetRequiredService<TableAccountLinkStore>());
        services.TryAddSingleton<IUsedStateStore>(sp =>
            new TableUsedStateStore(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.FlowsTable))));

        services.TryAddSingleton<IStartTicketStore>(sp =>
            new TableStartTicketStore(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.FlowsTable))));
        services.TryAddSingleton<IPendingLinkStore>(sp =>
            new TablePendingLinkStore(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.FlowsTable))));
        services.TryAddSingleton<IRefreshSchedule>(sp =>
            new TableRefreshSchedule(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.ScheduleTable))));
        services.TryAddSingleton<IBrokerStateStore>(sp =>
            new TableBrokerStateStore(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.ScheduleTable))));
        services.TryAddSingleton<IScheduledRunClaims>(sp =>
            new TableScheduledRunClaims(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.ScheduleTable))));

        services.TryAddSingleton(CreateSecretClient);
        services.TryAddSingleton<ICredentialVault, KeyVaultCredentialVault>();
        services.TryAddSingleton<IVaultWriteBudget, KeyVaultWriteBudget>();
        services.AddKeyVaultSealingKeys(configuration);
        return services;
    }

    /// <summary>The event log, the link rows' outbox hints, the providers' credentials states and the webhook queues: one table, one handle.</summary>
    private static void AddEventStorage(IServiceCollection services)
    {
        services.TryAddSingleton(sp => new EventsTable(new TableHandle(CreateTableClient(sp, sp.GetRequiredService<IOptions<StorageOptions>>().Value.EventsTable))));
        services.TryAddSingleton<IEventLog>(sp => new TableEventLog(sp.GetRequiredService<EventsTable>().Handle, sp.GetRequiredService<ILeaseClock>(), sp.GetRequiredService<IOptions<EventsOptions>>()));
        services.TryAddSingleton(sp => new LinkOutbox(sp.GetRequiredService<EventsTable>().Handle, sp.GetRequiredService<IEventLog>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new TableProviderCredentialsState(sp.GetRequiredService<EventsTable>().Handle, sp.GetRequiredService<IEventLog>()));
        services.TryAddSingleton<IProviderCredentialsState>(sp => sp.GetRequiredService<TableProviderCredentialsState>());
        services.TryAddSingleton<IEventOutbox, TableOutboxRecovery>();
        services.TryAddSingleton<IDeliveryStore>(sp => new TableDeliveryStore(sp.GetRequiredService<EventsTable>().Handle));
        services.TryAddSingleton<IWebhookSecretSource, KeyVaultWebhookSecrets>();
    }

    private static TableClient CreateTableClient(IServiceProvider sp, string tableName)
    {
        var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
        var clientOptions = new TableClientOptions().WithServerClock(sp.GetRequiredService<TableServerClock>());
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            var connection = TableConnectionString.Parse(options.ConnectionString);
            return new TableClient(connection.TableEndpoint, tableName, connection.Credential, clientOptions);
        }

        return new TableClient(new Uri(options.TableServiceUri!), tableName, sp.GetRequiredService<TokenCredential>(), clientOptions);
    }

    private static SecretClient CreateSecretClient(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<KeyVaultOptions>>().Value;
        var vaultUri = new Uri(options.VaultUri!);
        var clientOptions = new SecretClientOptions
        {
            // Key Vault throttling guidance: exponential backoff, never an immediate retry. Every setting is bounded, so
            // one call's worst case (KeyVaultOptions.WorstCaseCall) is known and a refresher's lease can cover its write.
            Retry = { Mode = RetryMode.Exponential, Delay = options.RetryDelay, MaxDelay = options.RetryMaxDelay, MaxRetries = options.MaxRetries, NetworkTimeout = options.NetworkTimeout },
            RetryPolicy = new RetryAfterCappedPolicy(options.MaxRetries, DelayStrategy.CreateExponentialDelayStrategy(options.RetryDelay, options.RetryMaxDelay), options.RetryAfterCap),
        };

        if (options.LocalAccessToken is null)
        {
            return new SecretClient(vaultUri, sp.GetRequiredService<TokenCredential>(), clientOptions);
        }

        // The local endpoint's challenge names its own loopback origin as the resource, which is not a
        // *.vault.azure.net domain; resource verification only makes sense against the real service.
        clientOptions.DisableChallengeResourceVerification = true;
        if (options.LocalCertificatePath is not null)
        {
            var pinned = X509Certificate2.CreateFromPem(File.ReadAllText(options.LocalCertificatePath));
            var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
                    errors == SslPolicyErrors.None || (certificate is not null && certificate.RawDataMemory.Span.SequenceEqual(pinned.RawDataMemory.Span)),
            };
            clientOptions.Transport = new HttpClientTransport(handler);
        }

        return new SecretClient(vaultUri, new LocalVaultCredential(options.LocalAccessToken), clientOptions);
    }
}
