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
        table.RunAsync(client => client.AddEntityAsync(new TableEntity(FlowTableKeys.PendingLinkPartition(pending.CompletionFingerprint), pending.CompletionFingerprint)
        {
            ["UserId"] = pending.UserId,
            ["ProviderId"] = pending.ProviderId,
            ["BrowserFingerprint"] = pending.BrowserFingerprint,
            ["CompletionChallenge"] = pending.CompletionChallenge,
            ["SealedGrant"] = pending.SealedGrant,
            ["CreatedAt"] = pending.CreatedAt,
            ["ExpiresAt"] = pending.ExpiresAt,
        }, ct), ct);

    public Task<PendingLink?> FindAsync(string completionFingerprint, CT ct) =>
        table.RunAsync(async client => await client.GetEntityAsync(FlowTableKeys.PendingLinkPartition(completionFingerprint), completionFingerprint, ct) is { } entity
            ? FromEntity(entity)
            : null, ct);

    public Task<bool> TryConsumeAsync(PendingLink pending, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                // Conditional delete: of concurrent completions (or a completion and housekeeping), exactly one wins.
                await client.DeleteEntityAsync(FlowTableKeys.PendingLinkPartition(pending.CompletionFingerprint), pending.CompletionFingerprint,
                    pending.ETag ?? throw new ArgumentException("The pending link has no ETag.", nameof(pending)), ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                return false;
            }
        }, ct);

    public async IAsyncEnumerable<PendingLink> ListExpiredAsync(DateTimeOffset before, [EnumeratorCancellation] CT ct)
    {
        foreach (var entity in await FlowTableKeys.ExpiredAsync(table, before, FlowTableKeys.IsPendingLinkPartition, ct))
        {
            yield return FromEntity(entity);
        }
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
        ETag = entity.ETag,
    };
}
