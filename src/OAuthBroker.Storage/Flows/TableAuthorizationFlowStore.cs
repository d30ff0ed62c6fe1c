using System.Runtime.CompilerServices;
using Azure;
using OAuthBroker.Flows;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Flows;

/// <summary>
/// Open authorization flows in Table Storage, keyed by the state's fingerprint. The first two characters of
/// the fingerprint are the partition, spreading flows over 4,096 partitions.
/// </summary>
public sealed class TableAuthorizationFlowStore(TableHandle table) : IAuthorizationFlowStore
{
    public Task CreateAsync(AuthorizationFlow flow, CT ct) =>
        table.RunAsync(client => client.AddEntityAsync(ToEntity(flow), ct), ct);

    public Task<AuthorizationFlow?> FindAsync(string stateFingerprint, CT ct) =>
        table.RunAsync(async client =>
        {
            var entity = await client.GetEntityAsync(PartitionOf(stateFingerprint), stateFingerprint, ct);
            return entity is null ? null : FromEntity(entity);
        }, ct);

    public Task<bool> TryConsumeAsync(AuthorizationFlow flow, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                // Conditional delete: of two concurrent callbacks with the same state, exactly one succeeds.
                await client.DeleteEntityAsync(PartitionOf(flow.StateFingerprint), flow.StateFingerprint, flow.ETag ?? throw new ArgumentException("The flow has no ETag.", nameof(flow)), ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                return false;
            }
        }, ct);

    public async IAsyncEnumerable<AuthorizationFlow> ListExpiredAsync(DateTimeOffset before, [EnumeratorCancellation] CT ct)
    {
        foreach (var entity in await FlowTableKeys.ExpiredAsync(table, before, FlowTableKeys.IsFlowPartition, ct))
        {
            yield return FromEntity(entity);
        }
    }

    private static string PartitionOf(string fingerprint) => FlowTableKeys.FlowPartition(fingerprint);

    private static TableEntity ToEntity(AuthorizationFlow flow) => new(PartitionOf(flow.StateFingerprint), flow.StateFingerprint)
    {
        ["UserId"] = flow.UserId,
        ["ProviderId"] = flow.ProviderId,
        ["ReturnUrl"] = flow.ReturnUrl.AbsoluteUri,
        ["RedirectUri"] = flow.RedirectUri.AbsoluteUri,
        ["BrowserFingerprint"] = flow.BrowserFingerprint,
        ["CodeVerifier"] = flow.CodeVerifier,
        ["Nonce"] = flow.Nonce,
        ["CreatedAt"] = flow.CreatedAt,
        ["ExpiresAt"] = flow.ExpiresAt,
    };

    private static AuthorizationFlow FromEntity(TableEntity entity) => new()
    {
        StateFingerprint = entity.RowKey,
        UserId = entity.GetString("UserId")!,
        ProviderId = entity.GetString("ProviderId")!,
        ReturnUrl = new Uri(entity.GetString("ReturnUrl")!),
        RedirectUri = new Uri(entity.GetString("RedirectUri")!),
        BrowserFingerprint = entity.GetString("BrowserFingerprint")!,
        CodeVerifier = entity.GetString("CodeVerifier"),
        Nonce = entity.GetString("Nonce") ?? "",
        CreatedAt = entity.GetDateTimeOffset("CreatedAt")!.Value,
        ExpiresAt = entity.GetDateTimeOffset("ExpiresAt")!.Value,
        ETag = entity.ETag,
    };
}
