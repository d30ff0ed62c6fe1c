using System.Runtime.CompilerServices;
using Azure;
using OAuthBroker.Flows;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Flows;

/// <summary>
/// Start tickets beside the flows (same table), keyed by the ticket's fingerprint and spread over 4,096 partitions
/// (<see cref="FlowTableKeys"/>): every SPA pop-up writes one, so a single partition would be the hot spot.
/// </summary>
public sealed class TableStartTicketStore(TableHandle table) : IStartTicketStore
{
    public Task CreateAsync(StartTicket ticket, CT ct) =>
        table.RunAsync(client => client.AddEntityAsync(new TableEntity(FlowTableKeys.TicketPartition(ticket.Fingerprint), ticket.Fingerprint)
        {
            ["UserId"] = ticket.UserId,
            ["ProviderId"] = ticket.ProviderId,
            ["ReturnUrl"] = ticket.ReturnUrl.AbsoluteUri,
            ["ExpiresAt"] = ticket.ExpiresAt,
            ["CompletionChallenge"] = ticket.CompletionChallenge,
        }, ct), ct);

    public Task<StartTicket?> FindAsync(string fingerprint, CT ct) =>
        table.RunAsync(async client => await client.GetEntityAsync(FlowTableKeys.TicketPartition(fingerprint), fingerprint, ct) is { } entity
            ? FromEntity(entity)
            : null, ct);

    public Task<bool> TryConsumeAsync(StartTicket ticket, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(FlowTableKeys.TicketPartition(ticket.Fingerprint), ticket.Fingerprint, ticket.ETag ?? "*", ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                return false;
            }
        }, ct);

    public async IAsyncEnumerable<StartTicket> ListExpiredAsync(DateTimeOffset before, [EnumeratorCancellation] CT ct)
    {
        foreach (var entity in await FlowTableKeys.ExpiredAsync(table, before, FlowTableKeys.IsTicketPartition, ct))
        {
            yield return FromEntity(entity);
        }
    }

    private static StartTicket FromEntity(TableEntity entity) => new()
    {
        Fingerprint = entity.RowKey,
        UserId = entity.GetString("UserId")!,
        ProviderId = entity.GetString("ProviderId")!,
        ReturnUrl = new Uri(entity.GetString("ReturnUrl")!),
        ExpiresAt = entity.GetDateTimeOffset("ExpiresAt")!.Value,
        CompletionChallenge = entity.GetString("CompletionChallenge"),
        ETag = entity.ETag,
    };
}
