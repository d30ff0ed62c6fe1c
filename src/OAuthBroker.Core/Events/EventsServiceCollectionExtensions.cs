using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Events;

public static class EventsServiceCollectionExtensions
{
    /// <summary>Link events: options, the webhook sender and the delivery task. The log, outbox and queue come from storage.</summary>
    public static IServiceCollection AddLinkEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EventsOptions>().Bind(configuration.GetSection(EventsOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EventsOptions>, EventsOptions.Validator>());
        WebhookSender.Register(services);
        services.TryAddSingleton<WebhookSender>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHousekeepingTask, EventDeliveryTask>());
        return services;
    }
}
