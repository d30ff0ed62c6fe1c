using OAuthBroker.Events;
using OAuthBroker.Links;

namespace OAuthBroker.Refresh;

/// <summary>
/// Writes what a refresh attempt decided onto the link row, keeping the due index in step: the new entry before the
/// row that points at it, the old one removed after (a crash in between leaves a stale entry the sweep removes, never
/// a link the sweep cannot find). Every write is conditioned on the row's ETag.
/// </summary>
public sealed class RefreshRecorder(IAccountLinkStore links, IRefreshSchedule schedule, RefreshPolicy policy, TimeProvider time)
{
    /// <summary>Writes <paramref name="after"/> (its due entry from <see cref="AccountLink.NextRefreshAt"/>) over <paramref name="before"/>.</summary>
    public async Task<AccountLink> ReplaceWithScheduleAsync(AccountLink before, AccountLink after, CT ct)
    {
        string? newKey = null;
        if (after.NextRefreshAt is { } due)
        {
            newKey = await schedule.AddAsync(after, due, ct);
        }

        var saved = await links.ReplaceAsync(after with { DueKey = newKey }, ct);
        if (before.DueKey is { } oldKey && oldKey != newKey)
        {
            await schedule.RemoveAsync(oldKey, ct);
        }

        return saved;
    }

    /// <summary>Adds a due-index entry for a link about to be written.</summary>
    public Task<string> AddEntryAsync(AccountLink link, DateTimeOffset dueAt, CT ct) => schedule.AddAsync(link, dueAt, ct);

    /// <summary>Removes a due-index entry that no link points at any more.</summary>
    public Task RemoveEntryAsync(string key, CT ct) => schedule.RemoveAsync(key, ct);

    /// <summary>A definite end for now: the status changes, nothing is scheduled, the lease is given back.</summary>
    public Task<AccountLink> FinishAsync(AccountLink leased, LinkStatus status, string code, CT ct) =>
        ReplaceWithScheduleAsync(leased, (leased with
        {
            Status = status,
            LastFailure = code,
            LeaseOwner = null,
            LeaseUntil = null,
            SpendingVersion = null,
            SpendStartedAt = null,
            NextRefreshAt = null,
            UpdatedAt = time.GetUtcNow(),
        }).AnnouncingStatus(time.GetUtcNow()), ct);

    /// <summary>The provider answered definitely and nothing was spent: look again at <paramref name="at"/>.</summary>
    public Task<AccountLink> RescheduleAsync(AccountLink leased, string code, DateTimeOffset at, bool countsAsFailure, CT ct) =>
        ReplaceWithScheduleAsync(leased, leased with
        {
            RefreshFailures = countsAsFailure ? leased.RefreshFailures + 1 : leased.RefreshFailures,
            LastFailure = code,
            LeaseOwner = null,
            LeaseUntil = null,
            SpendingVersion = null,
            SpendStartedAt = null,
            NextRefreshAt = at,
        }, ct);

    /// <summary>
    /// The refresh token may be spent (<see cref="AccountLink.SpendingVersion"/> stays set) and is never sent again:
    /// the link stays usable until its access token expires and is looked at again then, to tell the user.
    /// </summary>
    public async Task<RefreshOutcome> HoldAsync(AccountLink leased, string code, RefreshOutcome outcome, CT ct)
    {
        var now = time.GetUtcNow();
        var until = policy.HoldUntil(leased, now);
        var heldOnceWithoutExpiry = leased.AccessTokenExpiresAt is null && leased.LastFailure == code;
        if (until <= now || heldOnceWithoutExpiry)
        {
            await FinishAsync(leased, LinkStatus.ReauthRequired, code, ct);
            return RefreshOutcome.ReauthRequired;
        }

        await ReplaceWithScheduleAsync(leased, leased with
        {
            LastFailure = code,
            LeaseOwner = null,
            LeaseUntil = null,
            NextRefreshAt = until,
        }, ct);
        return outcome;
    }

    /// <summary>
    /// Moves the due entry of a link nothing can be done for right now (provider disabled, breaker open) to
    /// <paramref name="at"/>, so it neither blocks the sweep nor is read again before then. Not leased: a concurrent
    /// change wins.
    /// </summary>
    public async Task ParkAsync(AccountLink link, string code, DateTimeOffset at, CT ct, bool countsAsFailure = false)
    {
        try
        {
            await ReplaceWithScheduleAsync(link, link with
            {
                LastFailure = code,
                NextRefreshAt = at,
                RefreshFailures = countsAsFailure ? link.RefreshFailures + 1 : link.RefreshFailures,
            }, ct);
        }
        catch (LinkConcurrencyException)
        {
            // Someone changed it meanwhile; their schedule stands.
        }
    }
}
