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

    /// <summary>True when the access token expires within the margin (an on-demand read should refresh first).</summary>
    public bool IsExpiring(AccountLink link, DateTimeOffset now) =>
        link.AccessTokenExpiresAt is { } expires && expires - MarginFor(link) <= now;

    /// <summary>The next time the sweep should look at the link; null when nothing is to be done for it.</summary>
    public DateTimeOffset? NextDue(AccountLink link, DateTimeOffset now)
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

        if (link.RefreshTokenExpiresAt is { } refresh)
        {
            candidates.Add(refresh - margin);
        }

        // Jitter: up to a tenth of the margin earlier, never later than needed.
        var jitter = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * margin.Ticks / 10));
        var due = candidates.Min() - jitter;
        return due < now ? now : due;
    }

    /// <summary>Exponential retry delay with jitter, honouring the provider's Retry-After when it asks for longer.</summary>
    public TimeSpan RetryDelay(int consecutiveFailures, TimeSpan? retryAfter)
    {
        var o = options.Value;
        var exponential = TimeSpan.FromTicks(Math.Min(o.RetryMaxDelay.Ticks, o.RetryInitialDelay.Ticks * (1L << Math.Min(consecutiveFailures - 1, 20))));
        var jittered = exponential + TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * exponential.Ticks / 5));
        return retryAfter is { } asked && asked > jittered ? asked : jittered;
    }
}
