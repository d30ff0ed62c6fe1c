using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Refresh;

/// <summary>When a link is due: before its access token expires (per-provider margin), before its refresh token
/// expires, and at least every keep-alive interval — with jitter, so links linked together do not refresh together.</summary>
public sealed class RefreshPolicy(IOptions<RefreshOptions> options, ProviderCatalog providers)
{
    public TimeSpan MarginFor(AccountLink link)
    {
        var margin = providers.Find(link.ProviderId)?.Descriptor.RefreshMargin ?? options.Value.DefaultMargin;
        // A token that lives shorter than twice the margin is refreshed at half its life instead.
        if (link.AccessTokenExpiresAt is { } expires && (link.LastRefreshAt ?? link.UpdatedAt) is var issued && expires - issued < margin * 2)
        {
            margin = (expires - issued) / 2;
        }

        return margin;
    }

    /// <summary>
    /// True after a failed refresh until its backoff has passed: on-demand reads then serve the still-valid token (or
    /// report it unavailable) instead of calling the provider on every read.
    /// </summary>
    public static bool InBackoff(AccountLink link, DateTimeOffset now) =>
        link.RefreshFailures > 0 && link.NextRefreshAt is { } next && next > now;

    /// <summary>True when the access token expires within the margin (an on-demand read should refresh first).</summary>
    public bool IsExpiring(AccountLink link, DateTimeOffset now) =>
        link.AccessTokenExpiresAt is { } expires && expires - MarginFor(link) <= now;

    /// <summary>
    /// The next time the sweep should look at the link; null when nothing is to be done for it. Never sooner than
    /// <see cref="RefreshOptions.MinRefreshInterval"/> after the last refresh. <paramref name="refreshTokenExpiryMovable"/>
    /// false (the last refresh left the refresh token's expiry where it was: an absolute session limit, or no new
    /// refresh token) drops that expiry as a reason to refresh: refreshing again cannot move it.
    /// </summary>
    public DateTimeOffset? NextDue(AccountLink link, DateTimeOffset now, bool refreshTokenExpiryMovable = true)
    {
        if (link.Status != LinkStatus.Active)
        {
            return null;
        }

        if (!link.HasRefreshToken)
        {
            // Nothing to refresh: look again when the access token expires, to mark the link expired.
            return link.AccessTokenExpiresAt;
        }

        var margin = MarginFor(link);
        var candidates = new List<DateTimeOffset> { (link.LastRefreshAt ?? link.CreatedAt) + options.Value.KeepAliveInterval };
        if (link.AccessTokenExpiresAt is { } access)
        {
            candidates.Add(access - margin);
        }

        if (link.RefreshTokenExpiresAt is { } refresh && refreshTokenExpiryMovable)
        {
            candidates.Add(refresh - margin);
        }

        // Jitter: up to a tenth of the margin earlier, never later than needed.
        var jitter = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * margin.Ticks / 10));
        var due = candidates.Min() - jitter;
        var earliest = link.LastRefreshAt is { } last ? last + options.Value.MinRefreshInterval : now;
        if (due < earliest)
        {
            due = earliest;
        }

        return due < now ? now : due;
    }

    /// <summary>
    /// Exponential retry delay with jitter, honouring the provider's Retry-After when it asks for longer, but never
    /// beyond <see cref="RefreshOptions.RetryMaxDelay"/> (an HTTP date far ahead must not park a link past its keep-alive).
    /// </summary>
    public TimeSpan RetryDelay(int consecutiveFailures, TimeSpan? retryAfter)
    {
        var o = options.Value;
        var exponential = TimeSpan.FromTicks(Math.Min(o.RetryMaxDelay.Ticks, o.RetryInitialDelay.Ticks * (1L << Math.Min(consecutiveFailures - 1, 20))));
        var jittered = exponential + TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * exponential.Ticks / 5));
        var asked = retryAfter is { } value && value > o.RetryMaxDelay ? o.RetryMaxDelay : retryAfter;
        return asked is { } wait && wait > jittered ? wait : jittered;
    }

    /// <summary>
    /// When to try again after <paramref name="delay"/>: never after the refresh token expires. A retry landing past it
    /// could only fail, so it is pulled in to leave half the remaining time (at most the margin) before the expiry.
    /// </summary>
    public DateTimeOffset RetryAt(AccountLink link, DateTimeOffset now, TimeSpan delay)
    {
        var at = now + delay;
        if (link.RefreshTokenExpiresAt is { } expires)
        {
            var left = expires - now;
            var margin = MarginFor(link);
            var latest = expires - (left / 2 < margin ? left / 2 : margin);
            if (at > latest)
            {
                at = latest;
            }
        }

        return at < now ? now : at;
    }

    /// <summary>
    /// When a link whose refresh token may already be spent is looked at again: when its access token expires, which
    /// is when it stops being usable and the user must be asked to connect again. An access token of unknown lifetime is given one margin.
    /// </summary>
    public DateTimeOffset HoldUntil(AccountLink link, DateTimeOffset now) => link.AccessTokenExpiresAt switch
    {
        { } expires => expires > now ? expires : now,
        null => now + MarginFor(link),
    };
}
