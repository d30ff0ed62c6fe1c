using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Refresh;
using OAuthBroker.Storage;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>Another instance's shared provider state: the events table (row and log) reached through a <see cref="StorageAnswerProxy"/>.</summary>
internal static class ProxiedProviderState
{
    /// <param name="networkTimeout">
    /// Azure.Core's wait for one answer; shorter than the proxy's hold, the client gives up on a write that commits and
    /// retries it (a late answer).
    /// </param>
    public static TableProviderCredentialsState Behind(BrokerEnvironmentFixture fixture, StorageAnswerProxy proxy, TimeSpan? networkTimeout = null)
    {
        var storage = fixture.Broker<IOptions<StorageOptions>>().Value;
        var azurite = fixture.Environment.Azurite;
        var connection = TableConnectionString.Parse(proxy.ConnectionStringFor(azurite.ConnectionString, azurite.Port));
        var options = new TableClientOptions();
        if (networkTimeout is { } timeout)
        {
            options.Retry.NetworkTimeout = timeout;
        }

        var events = new TableHandle(new TableClient(connection.TableEndpoint, storage.EventsTable, connection.Credential, options));
        return new TableProviderCredentialsState(events, new TableEventLog(events, fixture.Broker<ILeaseClock>(), fixture.Broker<IOptions<EventsOptions>>()));
    }
}
