using System.Globalization;
using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Refresh;
using OAuthBroker.Storage;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Tables;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// The broker's link table and event hints on Azurite, with an event log whose storage refuses connections (a closed
/// loopback port): a writer using it stops exactly where a crash after its row write would stop it, the events left in the row.
/// </summary>
internal static class UnreachableEventLog
{
    public static TableAccountLinkStore Store(BrokerEnvironmentFixture fixture) =>
        new(LinksTable(fixture), new LinkOutbox(fixture.Broker<EventsTable>().Handle, Log(fixture), TimeProvider.System));

    /// <summary>The link table on Azurite; hints and log both unreachable: the events table is down, the link table is not.</summary>
    public static TableAccountLinkStore StoreWithoutEventsTable(BrokerEnvironmentFixture fixture) =>
        new(LinksTable(fixture), new LinkOutbox(Unreachable(fixture), Log(fixture), TimeProvider.System));

    private static TableHandle LinksTable(BrokerEnvironmentFixture fixture)
    {
        var storage = fixture.Broker<IOptions<StorageOptions>>().Value;
        var connection = TableConnectionString.Parse(storage.ConnectionString!);
        return new TableHandle(new TableClient(connection.TableEndpoint, storage.LinksTable, connection.Credential));
    }

    /// <summary>The event log alone, unreachable.</summary>
    public static TableEventLog Log(BrokerEnvironmentFixture fixture) =>
        new(Unreachable(fixture), fixture.Broker<ILeaseClock>(), fixture.Broker<IOptions<EventsOptions>>());

    /// <summary>The events table at a closed loopback port, without retries: every call fails at once.</summary>
    private static TableHandle Unreachable(BrokerEnvironmentFixture fixture)
    {
        var storage = fixture.Broker<IOptions<StorageOptions>>().Value;
        var connection = TableConnectionString.Parse(storage.ConnectionString!);
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 0;
        var closed = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{FreePort.Next()}/devstoreaccount1"));
        return new TableHandle(new TableClient(closed, storage.EventsTable, connection.Credential, options));
    }
}
