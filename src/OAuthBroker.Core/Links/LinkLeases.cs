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
