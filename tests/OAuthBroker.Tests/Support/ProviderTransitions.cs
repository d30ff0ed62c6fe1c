using OAuthBroker.Events;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// The provider-wide credential transitions the breaker tests record (a rejection with <c>invalid_client</c>, an
/// acceptance) for a provider id of their own, and a look at the shared state row they contend for.
/// </summary>
public static class ProviderTransitions
{
    /// <summary>A provider id no other test uses: <paramref name="prefix"/> and eight random hex digits.</summary>
    public static string NewProvider(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    public static LinkEvent Rejected(string provider) =>
        LinkEvents.ProviderWide(provider, LinkEventTypes.ProviderCredentialsRejected, DateTimeOffset.UtcNow, "invalid_client");

    public static LinkEvent Accepted(string provider) =>
        LinkEvents.ProviderWide(provider, LinkEventTypes.ProviderCredentialsAccepted, DateTimeOffset.UtcNow);

    /// <summary>Waits until the provider's shared state row has <paramref name="value"/> in <paramref name="column"/> (a write committed).</summary>
    public static async Task UntilRowAsync(TableClient rows, string provider, string column, string value)
    {
        while ((await rows.GetEntityAsync(EventTableKeys.ProviderStates, provider))?.GetString(column) != value)
        {
            await Task.Delay(20);
        }
    }
}
