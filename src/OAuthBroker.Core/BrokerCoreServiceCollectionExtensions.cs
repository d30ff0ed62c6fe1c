using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;
using OAuthBroker.Events;
using OAuthBroker.Flows;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Providers.BuiltByBit;
using OAuthBroker.Providers.Bybit;
using OAuthBroker.Providers.Generic;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.WhiteBit;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker;

public static class BrokerCoreServiceCollectionExtensions
{
    /// <summary>Flows, links and the enabled providers. Storage and the vault are added by the storage project.</summary>
    public static IServiceCollection AddBrokerCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection(BrokerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrokerOptions>, BrokerOptions.Validator>());

        services.AddHttpClient(ProviderHttpClient.HttpClientName, (sp, http) =>
        {
            http.Timeout = sp.GetRequiredService<IOptions<BrokerOptions>>().Value.ProviderTimeout;
        }).ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
        {
            // Provider redirects on back-channel calls are not followed: a token endpoint that redirects is misconfigured.
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // Below the refresh call's timeout: a connection that cannot be made fails as such, known not sent (Refresh:ProviderConnectTimeout).
            ConnectTimeout = sp.GetRequiredService<IOptions<RefreshOptions>>().Value.ConnectTimeout,
        });
        services.TryAddSingleton<ProviderHttpClient>();

        services.TryAddSingleton<ReturnUrlPolicy>();
        services.TryAddSingleton<LinkWriter>();
        services.TryAddSingleton<PendingRenewalHorizon>();
        services.TryAddSingleton<PendingSpendInDoubt>();
        services.TryAddSingleton<PendingKeyContinuation>();
        services.TryAddSingleton<LinkService>();
        services.TryAddSingleton<AuthorizationFlowService>();
        services.TryAddSingleton<StartTickets>();
        services.AddLinkCompletion(configuration);
        services.AddLinkEvents(configuration);

        services.AddOptions<RefreshOptions>().Bind(configuration.GetSection(RefreshOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RefreshOptions>, RefreshOptions.Validator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RefreshOptions>, LeaseBudget.Validator>());
        services.TryAddSingleton<RefreshPolicy>();
        services.TryAddSingleton<ProviderBreaker>();
        services.TryAddSingleton<VaultWritePacer>();
        services.TryAddSingleton<VaultWriteGate>();
        services.TryAddSingleton<RefreshRecorder>();
        services.TryAddSingleton<LinkLeases>();
        services.AddOptions<RevocationScopeOptions>().Configure(o => RevocationScopeOptions.Read(configuration, o)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RevocationScopeOptions>, RevocationScopeOptions.Validator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHousekeepingTask, OrphanedCredentialJanitor>());
        services.TryAddSingleton<LinkRefresher>();
        services.TryAddSingleton<RefreshSweep>();
        services.TryAddSingleton<ScheduledRun>();
        services.TryAddSingleton<CredentialCache>();
        services.TryAddSingleton<CredentialService>();
        // Dialects: code only where a provider's dialect truly differs; everything else is configuration.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProviderDialect, BybitDialect>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProviderDialect, BuiltByBitDialect>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProviderDialect, GenericOAuthDialect>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProviderDialect, WhiteBitDialect>());
        services.TryAddSingleton(sp => ProviderCatalog.Build(configuration, sp.GetServices<IProviderDialect>(), sp));
        return services;
    }
}
