using Microsoft.Extensions.Options;
using OAuthBroker.Refresh;

namespace OAuthBroker.Links;

/// <summary>
/// The one rule every writer of a link follows (refresher, re-link, unlink): change a leased link only while holding
/// its lease. Lease times are on the <see cref="ILeaseClock"/>; a lease reaching further ahead than any holder could
/// have taken is treated as expired, so a bad clock cannot pin a link.
/// </summary>
public sealed class LinkLeases(IAccountLinkStore store, ILeaseClock clock, IOptions<RefreshOptions> options, TimeProvider time)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest a live lease can legitimately reach ahead.</summary>
    public TimeSpan Longest => options.Value.LeaseDuration + options.Value.ClockAllowance;

    public DateTimeOffset Now => clock.UtcNow;

    /// <summary>True when someone other than <paramref name="owner"/> holds a live lease on the link.</summary>
    public bool HeldByOther(AccountLink link, string owner) => link.LeaseOwner != owner && link.IsLeased(clock.UtcNow, Longest);

    /// <summary>The link with <paramref name="owner"/>'s fresh lease (not stored yet).</summary>
    public AccountLink WithLease(AccountLink link, string owner) => link with { LeaseOwner = owner, LeaseUntil = clock.UtcNow + options.Value.LeaseDuration };

    /// <summary>
    /// Takes the lease for a writer that must not act under a refresh in flight (re-link, unlink): waits out a live
    /// lease (at most as long as one can last), then takes it by compare-and-swap. Null when the link disappeared;
    /// <see cref="LinkConcurrencyException"/> when it is still held after that wait.
    /// </summary>
    public async Task<AccountLink?> AcquireAsync(AccountLink link, string owner, CT ct)
    {
        var started = time.GetTimestamp();
        var current = link;
        while (true)
        {
            if (!HeldByOther(current, owner))
            {
                try
                {
                    return await store.ReplaceAsync(WithLease(current, owner), ct);
                }
                catch (LinkConcurrencyException)
                {
                    // Changed since it was read (a refresher took it, or finished): read again.
                }
            }
            else if (time.GetElapsedTime(started) > Longest)
            {
                throw new LinkConcurrencyException("The link's lease is still held.");
            }
            else
            {
                await Task.Delay(PollInterval, time, ct);
            }

            var reread = await store.GetAsync(current.UserId, current.ProviderId, current.AccountId, ct);
            if (reread is null)
            {
                return null;
            }

            current = reread;
        }
    }

    /// <summary>
    /// How long an unlink's intent (<see cref="AccountLink.UnlinkRequestedAt"/>) is honoured: the refresher's renewal it
    /// waits for holds a lease of its own (at most <see cref="Longest"/>), and taking the lease back may wait out one more
    /// holder (another <see cref="Longest"/>). Past that the unlink has given up or died, and the link goes on.
    /// </summary>
    public TimeSpan UnlinkIntentLifetime => Longest * 2;

    /// <summary>
    /// True while an unlink of the link is under way (<see cref="AccountLink.UnlinkRequestedAt"/> within
    /// <see cref="UnlinkIntentLifetime"/>); an intent stamped further ahead than any clock allowance explains is ignored,
    /// so a bad clock cannot pin a link.
    /// </summary>
    public bool UnlinkRequested(AccountLink link) =>
        link.UnlinkRequestedAt is { } at && clock.UtcNow - at < UnlinkIntentLifetime && at - clock.UtcNow <= options.Value.ClockAllowance;

    /// <summary>
    /// Gives the lease back for the refresher's renewal on behalf of an unlink: a pending link carries the unlink's intent
    /// in the same write (<see cref="AccountLink.UnlinkRequestedAt"/>), so no sweep can link its key in the gap before
    /// the unlink takes the lease again. An active link is given back as <see cref="ReleaseQuietlyAsync"/> does.
    /// </summary>
    public Task ReleaseForUnlinkAsync(AccountLink leased) =>
        ReleaseQuietlyAsync(leased.Status == LinkStatus.PendingKey ? leased with { UnlinkRequestedAt = clock.UtcNow } : leased);

    /// <summary>
    /// Renews the held lease now and keeps renewing it while work that may outlast one lease runs (WhiteBIT's key deletion
    /// waits out 423s for up to <c>KeyDeletionLockedTotalWait</c>). Null when the lease could not be renewed now (another
    /// holder has it, or storage did not answer); the heartbeat's <see cref="LeaseHeartbeat.Lost"/> once it may have lapsed.
    /// </summary>
    public async Task<LeaseHeartbeat?> KeepAsync(AccountLink leased, CT ct)
    {
        try
        {
            return await StartKeepingAsync(leased, ct);
        }
        catch (Exception ex) when (ex is LinkConcurrencyException or Errors.StorageUnavailableException)
        {
            // Refused (another holder wrote the row) or not written: the work must not start on a lease that may lapse.
            return null;
        }
    }

    /// <summary>
    /// As <see cref="KeepAsync"/>, for a caller that tells its user why the lease could not be kept: throws
    /// <see cref="LinkConcurrencyException"/> (another holder wrote the row) or <see cref="Errors.StorageUnavailableException"/>.
    /// </summary>
    public async Task<LeaseHeartbeat> StartKeepingAsync(AccountLink leased, CT ct)
    {
        var renewed = await store.ReplaceAsync(WithLease(leased, leased.LeaseOwner!), ct);
        return new LeaseHeartbeat(renewed, this, store, options.Value.LeaseDuration / 3, options.Value.ClockAllowance, time);
    }

    /// <summary>Gives the lease back without other changes; a failure only means it expires by itself.</summary>
    public async Task ReleaseQuietlyAsync(AccountLink leased)
    {
        try
        {
            await store.ReplaceAsync(leased with { LeaseOwner = null, LeaseUntil = null }, CT.None);
        }
        catch (Exception ex) when (ex is LinkConcurrencyException or Errors.StorageUnavailableException)
        {
            // The lease simply expires.
        }
    }
}
