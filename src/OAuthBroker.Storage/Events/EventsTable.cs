using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Events;

/// <summary>The events table's handle, shared by the log, the outbox hints and the delivery queues (one creation, one client).</summary>
public sealed record EventsTable(TableHandle Handle);
