using Azure;
using OAuthBroker.Flows;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Flows;

/// <summary>Start tickets beside the flows (same table, their own partition), keyed by the ticket's fingerprint.</summary>
public sealed class TableStartTicketStore(TableHandle table) : IStartTicketStore
{
    private const string Partition = "ticket";

    public Task CreateAsync(StartTicket ticket, CT ct) =>
        table.RunAsync(client => client.AddEntityAsync(new TableEntity(Partition, ticket.Fingerprint)
        {
            ["UserId"] = ticket.UserId,
            ["ProviderId"] = ticket.ProviderId,
            ["ReturnUrl"] = ticket.ReturnUrl.AbsoluteUri,
            ["ExpiresAt"] = ticket.ExpiresAt,
        }, ct), ct);

    public Task<StartTicket?> FindAsync(string fingerprint, CT ct) =>
        table.RunAsync(async client => await client.GetEntityAsync(Partition, fingerprint, ct) is { } entity
            ? new StartTicket
            {
                Fingerprint = entity.RowKey,
                UserId = entity.GetString("UserId")!,
                ProviderId = entity.GetString("ProviderId")!,
                ReturnUrl = new Uri(entity.GetString("ReturnUrl")!),
                ExpiresAt = entity.GetDateTimeOffset("ExpiresAt")!.Value,
                ETag = entity.ETag,
            }
            : null, ct);

    public Task<bool> TryConsumeAsync(StartTicket ticket, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(Partition, ticket.Fingerprint, ticket.ETag ?? "*", ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                return false;
            }
        }, ct);
}
