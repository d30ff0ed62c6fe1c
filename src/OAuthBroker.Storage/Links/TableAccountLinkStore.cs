using Azure;
using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Storage.Events;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Links;

/// <summary>
/// Account links in Table Storage. PartitionKey = fingerprint of the user id (one partition per user, so
/// listing a user's links is a single-partition query); RowKey = provider id + "." + fingerprint of the account id.
/// <para>
/// Each row is the outbox of its own events (<see cref="AccountLink.PendingEvents"/>, property <c>Outbox</c>): they are
/// written by the same conditional single-entity write as the state change, so they exist exactly when it does, on
/// Azure and on Azurite alike (an entity group transaction would do the same, but Azurite ignores If-Match inside one,
/// Azure/Azurite#1233). Around that write: a hint first (<see cref="LinkOutbox"/>, best effort), then, once the write is
/// in, the events are appended to the log and the row's outbox is emptied. A crash anywhere leaves the events in the row
/// and, unless the hint could not be written, a hint pointing at it, which <see cref="TableOutboxRecovery"/> follows; it
/// also scans for rows holding events now and then. See docs/events.md for every crash window.
/// </para>
/// </summary>
public sealed class TableAccountLinkStore(TableHandle table, LinkOutbox? outbox = null) : IAccountLinkStore
{
    private const int SchemaVersion = 3;

    /// <summary>Written only by the merge that empties the outbox; see <see cref="ClearOutboxAsync"/>.</summary>
    private const string OutboxClearedBy = "OutboxClearedBy";

    /// <summary>Written only by the merge that empties the outbox: the ETag of the row version it emptied.</summary>
    private const string OutboxClearedFrom = "OutboxClearedFrom";

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

    public async Task<AccountLink?> TryInsertAsync(AccountLink link, CT ct)
    {
        var hint = await HintAsync(link, ct);
        var inserted = await InsertRowAsync(link, ct);
        return inserted is null ? null : await PublishAsync(inserted, hint, CT.None);
    }

    public async Task<AccountLink> ReplaceAsync(AccountLink link, CT ct)
    {
        var hint = await HintAsync(link, ct);
        var replaced = await ReplaceRowAsync(link, ct);
        return await PublishAsync(replaced, hint, CT.None);
    }

    /// <summary>
    /// Appends the row's pending events to the log and empties its outbox (conditioned on the row's ETag), then removes
    /// the writer's hint. Failing that, the events stay in the row (the state change stands) and the hint leads recovery
    /// to them: returned with its events still pending.
    /// </summary>
    public async Task<AccountLink> PublishAsync(AccountLink link, string? hintETag, CT ct)
    {
        if (outbox is null || link.PendingEvents.Count == 0)
        {
            return link;
        }

        try
        {
            foreach (var pending in link.PendingEvents)
            {
                await outbox.Log.AppendAsync(pending, ct);
            }

            if (await ClearOutboxAsync(link, ct) is not { } etag)
            {
                // Note: the row changed (or went) after our write. The log already holds the events; a writer that read the
                // row before the outbox was emptied carries them and records them again (receivers deduplicate by id).
                return link with { PendingEvents = [] };
            }

            if (hintETag is not null)
            {
                await outbox.RemoveHintAsync(ReferenceOf(link.UserId, link.ProviderId, link.AccountId), hintETag, ct);
            }

            return link with { PendingEvents = [], ETag = etag };
        }
        catch (StorageUnavailableException)
        {
            return link;
        }
    }

    /// <summary>
    /// Empties the row's outbox if the row is still the one <paramref name="link"/> wrote; returns the row's new ETag, or
    /// null when it changed or went since. The merge also writes a token of its own (<c>OutboxClearedBy</c>; every full
    /// write of the row drops it): when the merge commits and its answer is lost, the storage client's retry gets 412
    /// against our own change, and the row still carrying our token shows the change is ours and nothing came after it,
    /// so its ETag is ours to go on with (as a committed lease renewal is recognised, LinkRefresher.StartSpendAsync).
    /// When the answer is lost for good (the retries failed too), the caller keeps its own write's ETag; the merge's other
    /// mark, <c>OutboxClearedFrom</c> (that ETag), lets the caller's next write go on from the cleared row
    /// (<see cref="ClearedSinceAsync"/>).
    /// </summary>
    private Task<string?> ClearOutboxAsync(AccountLink link, CT ct)
    {
        var token = Guid.NewGuid().ToString("N");
        var (partitionKey, rowKey) = (PartitionKeyOf(link.UserId), RowKeyOf(link.ProviderId, link.AccountId));
        return table.RunAsync<string?>(async client =>
        {
            try
            {
                var clear = new TableEntity(partitionKey, rowKey) { ["Outbox"] = "", [OutboxClearedBy] = token, [OutboxClearedFrom] = link.ETag };
                return await client.UpdateEntityAsync(clear, link.ETag!, TableUpdateMode.Merge, ct);
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                var row = await client.GetEntityAsync(partitionKey, rowKey, ct);
                return row is not null && row.GetString(OutboxClearedBy) == token ? row.ETag : null;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return null;
            }
        }, ct);
    }

    public Task<AccountLink> PublishAsync(AccountLink link, CT ct) => PublishAsync(link, null, ct);

    /// <summary>
    /// The hint before a write that carries events; best effort, so the events table never stands between a link and its
    /// state change. Without a hint, events a writer could not publish are found by recovery's scan of the link table
    /// (<see cref="PendingEventsPageAsync"/>) instead.
    /// </summary>
    private async Task<string?> HintAsync(AccountLink link, CT ct)
    {
        if (outbox is null || link.PendingEvents.Count == 0)
        {
            return null;
        }

        try
        {
            return await outbox.HintAsync(ReferenceOf(link.UserId, link.ProviderId, link.AccountId), ct);
        }
        catch (StorageUnavailableException)
        {
            return null;
        }
    }

    /// <summary>
    /// One page of the rows whose outbox holds events and which were last written at or before
    /// <paramref name="writtenBefore"/> (the storage service's timestamp), from <paramref name="from"/> (null: the table's
    /// start), with where the next page starts (null: the end of the table). A filtered query over the whole table: the
    /// service reads every row, at most 1,000 and 5 seconds' worth per page, so a page may hold fewer rows than asked, even
    /// none, and still not be the last (Query Timeout and Pagination,
    /// learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination). Recovery walks it a page at a time,
    /// across runs (<see cref="TableOutboxRecovery"/>). A row this version cannot read (its outbox or progress JSON) is
    /// counted in <c>Unreadable</c> and left out, so one such row cannot hold the walk at its page for good.
    /// </summary>
    public Task<(IReadOnlyList<AccountLink> Links, int Unreadable, TableContinuation? Next)> PendingEventsPageAsync(DateTimeOffset writtenBefore, TableContinuation? from, int max, CT ct) =>
        table.RunAsync<(IReadOnlyList<AccountLink>, int, TableContinuation?)>(async client =>
        {
            var filter = TableFilter.And(TableFilter.GreaterThan("Outbox", ""), TableFilter.LessThanOrEqual("Timestamp", writtenBefore));
            var page = await client.QueryPageAsync(filter, max, from, ct);
            var links = new List<AccountLink>(page.Entities.Count);
            foreach (var entity in page.Entities)
            {
                try
                {
                    links.Add(FromEntity(entity));
                }
                catch (Exception ex) when (UnreadableRow.Is(ex))
                {
                    // Note: skipped, not thrown (see above); the caller logs the count.
                }
            }

            return (links, page.Entities.Count - links.Count, page.Continuation);
        }, ct);

    private Task<AccountLink?> InsertRowAsync(AccountLink link, CT ct) =>
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

    private Task<AccountLink> ReplaceRowAsync(AccountLink link, CT ct) =>
        table.RunAsync(async client =>
        {
            var etag = link.ETag ?? throw new ArgumentException("The link has no ETag.", nameof(link));
            while (true)
            {
                try
                {
                    return link with { ETag = await client.UpdateEntityAsync(ToEntity(link), etag, TableUpdateMode.Replace, ct) };
                }
                catch (RequestFailedException ex) when (ex.Status is 412 or 404)
                {
                    if (ex.Status == 404 || etag != link.ETag || await ClearedSinceAsync(client, link, ct) is not { } cleared)
                    {
                        throw new LinkConcurrencyException("The link changed or disappeared since it was read.", ex);
                    }

                    etag = cleared;
                }
            }
        }, ct);

    /// <summary>
    /// The row's ETag when the only change since <paramref name="link"/>'s version is the merge that emptied that version's
    /// outbox (<see cref="ClearOutboxAsync"/>; every full write drops its mark): its events are in the log and the link is
    /// otherwise as the caller read it, so the caller's write may go on from there. A writer whose clear committed while
    /// its answer was lost keeps its own write's ETag, and so does one whose row recovery published meanwhile. Null
    /// otherwise (another write came in between: a real conflict).
    /// </summary>
    private static async Task<string?> ClearedSinceAsync(TableClient client, AccountLink link, CT ct)
    {
        var row = await client.GetEntityAsync(PartitionKeyOf(link.UserId), RowKeyOf(link.ProviderId, link.AccountId), ct);
        return row is not null && link.ETag is not null && row.GetString(OutboxClearedFrom) == link.ETag ? row.ETag : null;
    }

    /// <summary>
    /// Deletes the row. Events still in its outbox reach the log first, or the delete does not happen: a row is never
    /// deleted with events only it holds.
    /// </summary>
    public async Task<bool> DeleteAsync(AccountLink link, CT ct)
    {
        if (outbox is not null)
        {
            foreach (var pending in link.PendingEvents)
            {
                await outbox.Log.AppendAsync(pending, ct);
            }
        }

        return await DeleteRowAsync(link, ct);
    }

    private Task<bool> DeleteRowAsync(AccountLink link, CT ct) =>
        table.RunAsync(async client =>
        {
            var etag = link.ETag ?? "*";
            while (true)
            {
                try
                {
                    await client.DeleteEntityAsync(PartitionKeyOf(link.UserId), RowKeyOf(link.ProviderId, link.AccountId), etag, ct);
                    return true;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    return false;
                }
                catch (RequestFailedException ex) when (ex.Status == 412)
                {
                    if (etag != link.ETag || await ClearedSinceAsync(client, link, ct) is not { } cleared)
                    {
                        throw new LinkConcurrencyException("The link changed since it was read.", ex);
                    }

                    etag = cleared;
                }
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
            ["Outbox"] = LinkEventJson.SerializeList(link.PendingEvents),
            ["PendingProgress"] = link.PendingProgress is { } progress ? System.Text.Json.JsonSerializer.Serialize(progress, StorageJsonContext.Default.IReadOnlyDictionaryStringString) : null,
            ["WaitingFor"] = link.WaitingFor,
            ["UnlinkRequestedAt"] = link.UnlinkRequestedAt,
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
        PendingEvents = LinkEventJson.ReadList(entity.GetString("Outbox")),
        PendingProgress = entity.GetString("PendingProgress") is { Length: > 0 } progress ? System.Text.Json.JsonSerializer.Deserialize(progress, StorageJsonContext.Default.DictionaryStringString) : null,
        WaitingFor = entity.GetString("WaitingFor"),
        UnlinkRequestedAt = entity.GetDateTimeOffset("UnlinkRequestedAt"),
        ETag = entity.ETag,
    };
}
