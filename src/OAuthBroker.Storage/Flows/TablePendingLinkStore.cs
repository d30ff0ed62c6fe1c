using System.Runtime.CompilerServices;
using Azure;
using OAuthBroker.Flows;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Flows;

/// <summary>
/// Pending links beside the flows (same table, their own partitions: <see cref="FlowTableKeys"/>), keyed by the
/// completion code's fingerprint. The grant is stored only sealed; the row holds no token, code or key.
/// </summary>
public sealed class TablePendingLinkStore(TableHandle table) : IPendingLinkStore
{
    public Task CreateAsync(PendingLink pending, CT ct) =>
        table.RunAsync(client => client.AddEntityAsync(ToEntity(pending), ct), ct);

    public Task<PendingLink?> FindAsync(string completionFingerprint, CT ct) =>
        table.RunAsync(async client => await ReadAsync(client, completionFingerprint, ct) is { } entity ? FromEntity(entity) : null, ct);

    public Task<PendingLink?> TryTakeAsync(PendingLink pending, string takeId, CT ct) =>
        table.RunAsync(async client =>
        {
            var taken = pending with { TakenBy = takeId };
            try
            {
                // Conditional update: of concurrent takers (completions, housekeeping) exactly one wins. The row stays,
                // so the sealed grant is kept until its taker has linked or revoked it.
                var etag = await client.UpdateEntityAsync(ToEntity(taken), ETagOf(pending), TableUpdateMode.Replace, ct);
                return taken with { ETag = etag };
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // The client retries a request whose answer was lost (TableClientOptions' retry policy; Azure.Core's
                // ResponseClassifier.IsRetriableException retries an IOException), and the service had already applied
                // the first attempt, which it received in full: the retry then meets that attempt's own change (412).
                // The take is ours if the row carries our take id.
                var now = await ReadAsync(client, pending.CompletionFingerprint, ct);
                return now is not null && now.GetString("TakenBy") == takeId ? FromEntity(now) : null;
            }
        }, ct);

    public Task<bool> TryReleaseAsync(PendingLink taken, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.UpdateEntityAsync(ToEntity(taken with { TakenBy = null }), ETagOf(taken), TableUpdateMode.Replace, ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // As for the take: a retried release meets its own first attempt.
                var now = await ReadAsync(client, taken.CompletionFingerprint, ct);
                return now is not null && now.GetString("TakenBy") is null;
            }
        }, ct);

    public Task RemoveAsync(PendingLink taken, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(FlowTableKeys.PendingLinkPartition(taken.CompletionFingerprint), taken.CompletionFingerprint, "*", ct);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Already gone (a retried delete whose first attempt went through, or housekeeping).
            }

            return true; // RunAsync wants a result.
        }, ct);

    public async IAsyncEnumerable<PendingLink> ListExpiredAsync(DateTimeOffset before, [EnumeratorCancellation] CT ct)
    {
        foreach (var entity in await FlowTableKeys.ExpiredAsync(table, before, FlowTableKeys.IsPendingLinkPartition, ct))
        {
            yield return FromEntity(entity);
        }
    }

    private static Task<TableEntity?> ReadAsync(TableClient client, string completionFingerprint, CT ct) =>
        client.GetEntityAsync(FlowTableKeys.PendingLinkPartition(completionFingerprint), completionFingerprint, ct);

    /// <summary>The version a conditional write is made against: only a record read from storage has one.</summary>
    private static string ETagOf(PendingLink pending) =>
        pending.ETag ?? throw new ArgumentException("The pending link has no ETag: only a record read from storage can be taken or released.", nameof(pending));

    private static TableEntity ToEntity(PendingLink pending)
    {
        var entity = new TableEntity(FlowTableKeys.PendingLinkPartition(pending.CompletionFingerprint), pending.CompletionFingerprint)
        {
            ["UserId"] = pending.UserId,
            ["ProviderId"] = pending.ProviderId,
            ["BrowserFingerprint"] = pending.BrowserFingerprint,
            ["CompletionChallenge"] = pending.CompletionChallenge,
            ["SealedGrant"] = pending.SealedGrant,
            ["CreatedAt"] = pending.CreatedAt,
            ["ExpiresAt"] = pending.ExpiresAt,
        };
        if (pending.TakenBy is not null)
        {
            entity["TakenBy"] = pending.TakenBy;
        }

        return entity;
    }

    private static PendingLink FromEntity(TableEntity entity) => new()
    {
        CompletionFingerprint = entity.RowKey,
        UserId = entity.GetString("UserId")!,
        ProviderId = entity.GetString("ProviderId")!,
        BrowserFingerprint = entity.GetString("BrowserFingerprint")!,
        CompletionChallenge = entity.GetString("CompletionChallenge"),
        SealedGrant = entity.GetString("SealedGrant")!,
        CreatedAt = entity.GetDateTimeOffset("CreatedAt")!.Value,
        ExpiresAt = entity.GetDateTimeOffset("ExpiresAt")!.Value,
        TakenBy = entity.GetString("TakenBy"),
        ETag = entity.ETag,
    };
}
