using Azure;
using OAuthBroker.Links;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Links;

/// <summary>
/// Account links in Table Storage. PartitionKey = fingerprint of the user id (one partition per user, so
/// listing a user's links is a single-partition query); RowKey = provider id + "." + fingerprint of the account id.
/// </summary>
public sealed class TableAccountLinkStore(TableHandle table) : IAccountLinkStore
{
    private const int SchemaVersion = 3;

    public static string PartitionKeyOf(string userId) => KeyFingerprint.Of("user", userId);

    public static string RowKeyOf(string providerId, string accountId) => providerId + "." + KeyFingerprint.Of("account", accountId);

    public Task<AccountLink?> GetAsync(string userId, string providerId, string accountId, CT ct) =>
        table.RunAsync(async client =>
        {
            var entity = await client.GetEntityAsync(PartitionKeyOf(userId), RowKeyOf(providerId, accountId), ct);
            return entity is null ? null : FromEntity(entity);
        }, ct);

    public Task<IReadOnlyList<AccountLink>> ListAsync(string userId, CT ct) =>
        table.RunAsync<IReadOnlyList<AccountLink>>(async client =>
        {
            var links = new List<AccountLink>();
            await foreach (var entity in client.QueryAsync(TableFilter.Equal("PartitionKey", PartitionKeyOf(userId)), ct: ct))
            {
                links.Add(FromEntity(entity));
            }

            return links;
        }, ct);

    /// <summary><c>PartitionKey/RowKey</c>: both are fingerprints or provider ids, so the reference names no person.</summary>
    public string ReferenceOf(string userId, string providerId, string accountId) => PartitionKeyOf(userId) + "/" + RowKeyOf(providerId, accountId);

    public Task<AccountLink?> GetByReferenceAsync(string reference, CT ct)
    {
        var parts = reference.Split('/');
        if (parts.Length != 2 || !TableKeys.IsValid(parts[0]) || !TableKeys.IsValid(parts[1]) || parts[0].Length == 0 || parts[1].Length == 0)
        {
            return Task.FromResult<AccountLink?>(null);
        }

        return table.RunAsync(async client =>
        {
            var entity = await client.GetEntityAsync(parts[0], parts[1], ct);
            return entity is null ? null : FromEntity(entity);
        }, ct);
    }

    public Task<AccountLink?> TryInsertAsync(AccountLink link, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                var etag = await client.AddEntityAsync(ToEntity(link), ct);
                return link with { ETag = etag };
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                return null;
            }
        }, ct);

    public Task<AccountLink> ReplaceAsync(AccountLink link, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                var etag = await client.UpdateEntityAsync(ToEntity(link), link.ETag ?? throw new ArgumentException("The link has no ETag.", nameof(link)), TableUpdateMode.Replace, ct);
                return link with { ETag = etag };
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                throw new LinkConcurrencyException("The link changed or disappeared since it was read.", ex);
            }
        }, ct);

    public Task<bool> DeleteAsync(AccountLink link, CT ct) =>
        table.RunAsync(async client =>
        {
            try
            {
                await client.DeleteEntityAsync(PartitionKeyOf(link.UserId), RowKeyOf(link.ProviderId, link.AccountId), link.ETag ?? "*", ct);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return false;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                throw new LinkConcurrencyException("The link changed since it was read.", ex);
            }
        }, ct);

    private static TableEntity ToEntity(AccountLink link)
    {
        var entity = new TableEntity(PartitionKeyOf(link.UserId), RowKeyOf(link.ProviderId, link.AccountId))
        {
            ["SchemaVersion"] = SchemaVersion,
            ["UserId"] = link.UserId,
            ["ProviderId"] = link.ProviderId,
            ["AccountId"] = link.AccountId,
            ["AccountDisplayName"] = link.AccountDisplayName,
            ["Status"] = link.Status.ToString(),
            ["CredentialName"] = link.CredentialName,
            ["Scopes"] = string.Join(' ', link.Scopes),
            ["HasApiKey"] = link.HasApiKey,
            ["HasRefreshToken"] = link.HasRefreshToken,
            ["AccessTokenExpiresAt"] = link.AccessTokenExpiresAt,
            ["RefreshTokenExpiresAt"] = link.RefreshTokenExpiresAt,
            ["CreatedAt"] = link.CreatedAt,
            ["UpdatedAt"] = link.UpdatedAt,
            ["CredentialStoredAt"] = link.CredentialStoredAt,
            ["CredentialVersion"] = link.CredentialVersion,
            ["NextRefreshAt"] = link.NextRefreshAt,
            ["DueKey"] = link.DueKey,
            ["LastRefreshAt"] = link.LastRefreshAt,
            ["RefreshFailures"] = link.RefreshFailures,
            ["LastFailure"] = link.LastFailure,
            ["LeaseOwner"] = link.LeaseOwner,
            ["LeaseUntil"] = link.LeaseUntil,
            ["GrantId"] = link.GrantId,
            ["CredentialVersions"] = link.CredentialVersions,
            ["SpendingVersion"] = link.SpendingVersion,
            ["SpendStartedAt"] = link.SpendStartedAt,
        };
        return entity;
    }

    /// <summary>
    /// The spend marker: a vault version id; rows written before versions were pinned hold an instant instead. Such a
    /// marker still says "a spend's outcome is unknown" (it never matches a result's version, so it is never taken for resolved).
    /// </summary>
    private static string? SpendingVersionOf(TableEntity entity) =>
        entity.GetString("SpendingVersion")
        ?? (entity.GetDateTimeOffset("SpendingVersion") is { } legacy ? "stored-at:" + legacy.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);

    private static AccountLink FromEntity(TableEntity entity) => new()
    {
        UserId = entity.GetString("UserId")!,
        ProviderId = entity.GetString("ProviderId")!,
        AccountId = entity.GetString("AccountId")!,
        AccountDisplayName = entity.GetString("AccountDisplayName"),
        Status = Enum.TryParse<LinkStatus>(entity.GetString("Status"), out var status) ? status : LinkStatus.Active,
        CredentialName = entity.GetString("CredentialName")!,
        Scopes = (entity.GetString("Scopes") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries),
        HasApiKey = entity.GetBoolean("HasApiKey") ?? false,
        HasRefreshToken = entity.GetBoolean("HasRefreshToken") ?? false,
        AccessTokenExpiresAt = entity.GetDateTimeOffset("AccessTokenExpiresAt"),
        RefreshTokenExpiresAt = entity.GetDateTimeOffset("RefreshTokenExpiresAt"),
        CreatedAt = entity.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
        UpdatedAt = entity.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue,
        CredentialStoredAt = entity.GetDateTimeOffset("CredentialStoredAt"),
        CredentialVersion = entity.GetString("CredentialVersion"),
        NextRefreshAt = entity.GetDateTimeOffset("NextRefreshAt"),
        DueKey = entity.GetString("DueKey"),
        LastRefreshAt = entity.GetDateTimeOffset("LastRefreshAt"),
        RefreshFailures = (int)(entity.GetInt64("RefreshFailures") ?? 0),
        LastFailure = entity.GetString("LastFailure"),
        LeaseOwner = entity.GetString("LeaseOwner"),
        LeaseUntil = entity.GetDateTimeOffset("LeaseUntil"),
        GrantId = entity.GetString("GrantId"),
        // Rows written before versions were counted: assume one, the next refresh counts on from there.
        CredentialVersions = (int)(entity.GetInt64("CredentialVersions") ?? 1),
        SpendingVersion = SpendingVersionOf(entity),
        SpendStartedAt = entity.GetDateTimeOffset("SpendStartedAt"),
        ETag = entity.ETag,
    };
}
