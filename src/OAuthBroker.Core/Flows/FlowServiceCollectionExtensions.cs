using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OAuthBroker.Scheduling;
using OAuthBroker.Sealing;

namespace OAuthBroker.Flows;

public static class FlowServiceCollectionExtensions
{
    /// <summary>
    /// Sealed flows, the completion step and what they stand on: the sealing key ring, pending links, and the
    /// housekeeping that removes used-state markers, tickets and unconfirmed links. The stores come with the storage
    /// project, which may also replace the key ring with Key Vault's.
    /// </summary>
    public static IServiceCollection AddLinkCompletion(this IServiceCollection services, IConfiguration configuration)
    {
        var surroundings = HostingSurroundings.From(configuration);
        services.AddOptions<SealingOptions>().Bind(configuration.GetSection(SealingOptions.SectionName))
            .Configure(options => options.EphemeralAllowed = options.Keys.Count == 0 && options.KeyVaultSecretName is null && surroundings.IsDeveloperMachine)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SealingOptions>, SealingOptions.Validator>());
        services.TryAddSingleton<ISealingKeyRing, ConfiguredSealingKeyRing>();
        services.TryAddSingleton<Sealer>();
        services.TryAddSingleton<SealedFlows>();

        services.TryAddSingleton<PendingLinks>();
        services.TryAddSingleton<DeferredProviderLeg>();
        services.TryAddSingleton<LinkCompletionService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHousekeepingTask, ExpiredFlowStateTask>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHousekeepingTask, UnconfirmedLinksTask>());
        return services;
    }
}
