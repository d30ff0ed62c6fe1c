using OAuthBroker.Links;

namespace OAuthBroker.Refresh;

/// <summary>
/// The due index: one entry per scheduled link, ordered by due time, so a sweep reads only what is due (Table
/// Storage has no secondary indexes). Entries can be stale (a crash between writing an entry and the link); the
/// link row's <see cref="AccountLink.DueKey"/> says which entry is current, and the sweep deletes the others.
/// </summary>
public interface IRefreshSchedule
{
    /// <summary>Adds an entry for the link at <paramref name="dueAt"/>; returns its key.</summary>
    Task<string> AddAsync(AccountLink link, DateTimeOffset dueAt, CT ct);

    /// <summary>Removes an entry; succeeds when it is already gone.</summary>
    Task RemoveAsync(string dueKey, CT ct);

    /// <summary>
    /// Entries due at or before <paramref name="now"/>, earliest first, at most <paramref name="max"/>, starting after
    /// the entry with key <paramref name="after"/> (null: from the start).
    /// </summary>
    Task<IReadOnlyList<DueEntry>> ListDueAsync(DateTimeOffset now, int max, string? after, CT ct);
}

/// <summary>One due-index entry: which link, and when.</summary>
public sealed record DueEntry(string Key, string UserId, string ProviderId, string AccountId, DateTimeOffset DueAt)
{
    /// <summary>When the entry was written, on the storage service's clock (null when unknown).</summary>
    public DateTimeOffset? WrittenAt { get; init; }
}
