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
    /// The completion step and what it stands on: the sealing key ring, pending links, and the housekeeping that
    /// removes expired flows, tickets and unconfirmed links. The pending-link store comes with the storage project.
    /// </summary>
    public static IServiceCollection AddLinkCompletion(this IServiceCollection services, IConfiguration configuration)
    {
        var surroundings = HostingSurroundings.From(configuration);
        services.AddOptions<SealingOptions>().Bind(configuration.GetSection(SealingOptions.SectionName))
            .Configure(options => options.EphemeralAllowed = options.Keys.Count == 0 && surroundings.IsDeveloperMachine)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SealingOptions>, SealingOptions.Validator>());
        services.TryAddSingleton<ISealingKeyRing, ConfiguredSealingKeyRing>();
        services.TryAddSingleton<Sealer>();

        services.TryAddSingleton<PendingLinks>();
        services.TryAddSingleton<LinkCompletionService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHousekeepingTask, ExpiredFlowStateTask>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHousekeepingTask, UnconfirmedLinksTask>());
        return services;
    }
}
