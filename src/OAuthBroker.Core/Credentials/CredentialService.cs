using Microsoft.Extensions.Logging;
using OAuthBroker.Errors;
using OAuthBroker.Links;
using OAuthBroker.Refresh;

namespace OAuthBroker.Credentials;

/// <summary>
/// Hands a backend a valid credential for one link: the access token (refreshed first when it is within its margin,
/// single-flight per link), and the API key and secret where the provider issued them. Never the refresh token.
/// Every read is logged with the calling backend (an audit trail without secrets).
/// </summary>
public sealed partial class CredentialService(
    IAccountLinkStore links,
    CredentialCache cache,
    LinkRefresher refresher,
    RefreshPolicy policy,
    LinkLeases leases,
    Microsoft.Extensions.Options.IOptions<RefreshOptions> options,
    TimeProvider time,
    ILogger<CredentialService> logger)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (AccountLink Link, DateTimeOffset ReadAt)> _recentLinks = new(StringComparer.Ordinal);

    /// <summary>How long a reader waits for another instance's refresh of the same link before answering.</summary>
    private static readonly TimeSpan BusyWait = TimeSpan.FromSeconds(10);

    public async Task<(BackendCredential? Credential, BrokerError? Error)> GetAsync(string caller, string userId, string providerId, string accountId, bool forceRefresh, CT ct)
    {
        var link = await ReadLinkAsync(userId, providerId, accountId, forceRefresh, ct);
        if (link is null || link.Status == LinkStatus.Unlinking)
        {
            return (null, BrokerErrors.LinkNotFound(providerId));
        }

        var now = time.GetUtcNow();
        // After a failed refresh the backoff holds for reads too: the still-valid token is served (or the link reported
        // unavailable) without calling the provider again on every read.
        if ((forceRefresh || policy.IsExpiring(link, now)) && link.HasRefreshToken && link.Status == LinkStatus.Active && !RefreshPolicy.InBackoff(link, now))
        {
            var outcome = await refresher.RefreshAsync(userId, providerId, accountId, forceRefresh ? LinkRefresher.Mode.Force : LinkRefresher.Mode.IfExpiring, ct);
            link = outcome == RefreshOutcome.Busy
                ? await WaitForOtherRefresherAsync(link, ct)
                : await links.GetAsync(userId, providerId, accountId, ct);
            if (link is null || link.Status == LinkStatus.Unlinking)
            {
                return (null, BrokerErrors.LinkNotFound(providerId));
            }

            Remember(link);
        }

        if (link.Status == LinkStatus.PendingKey)
        {
            // Not a credential yet: the provider has not issued what the link needs (WhiteBIT's key); the pending tokens stay in.
            return (null, BrokerErrors.CredentialUnavailable(providerId).WithDetail("The link waits for the provider to issue its API key (status pending_key); retry once it is active."));
        }

        if (link.Status == LinkStatus.ReauthRequired)
        {
            return (null, BrokerErrors.ReauthRequired(providerId));
        }

        var expired = link.Status == LinkStatus.Expired || (link.AccessTokenExpiresAt is { } expires && expires <= time.GetUtcNow());
        if (expired)
        {
            // A refresh that failed transiently leaves the link active; its token is only served while it is valid.
            return (null, link.HasRefreshToken ? BrokerErrors.CredentialUnavailable(providerId) : BrokerErrors.LinkExpired(providerId));
        }

        var vaulted = await cache.ReadAsync(link, ct);
        if (vaulted is null)
        {
            return (null, BrokerErrors.CredentialUnavailable(providerId));
        }

        var tag = CredentialNames.LogTag(link.CredentialName);
        LogCredentialRead(logger, caller, providerId, tag, forceRefresh);
        var credential = vaulted.Credential;
        return (new BackendCredential(providerId, accountId, credential.AccessToken, credential.TokenType, credential.AccessTokenExpiresAt, credential.ApiKey, credential.ApiSecret), null);
    }

    /// <summary>
    /// The link row, reused from this instance's last read for <see cref="RefreshOptions.LinkCacheDuration"/> — but only
    /// while that row is active, unleased and not near expiry; anything that needs a decision is read fresh. This is
    /// what lets backend reads scale (a Table read per request was the slowest avoidable step, bench/README.md).
    /// Note: a refresh or unlink on another instance is seen at most that long later; the access token served in
    /// that window is the previous one, which providers keep valid until it expires.
    /// </summary>
    private async Task<AccountLink?> ReadLinkAsync(string userId, string providerId, string accountId, bool forceRefresh, CT ct)
    {
        var key = AccountLink.KeyOf(userId, providerId, accountId);
        var now = time.GetUtcNow();
        if (!forceRefresh && _recentLinks.TryGetValue(key, out var recent) && now - recent.ReadAt < options.Value.LinkCacheDuration
            && recent.Link.Status == LinkStatus.Active && !recent.Link.IsLeased(leases.Now, leases.Longest) && !policy.IsExpiring(recent.Link, now))
        {
            return recent.Link;
        }

        var link = await links.GetAsync(userId, providerId, accountId, ct);
        if (link is null)
        {
            Forget(userId, providerId, accountId);
            return null;
        }

        Remember(link);
        return link;
    }

    /// <summary>Drops what this instance remembers of a link (it was unlinked): its row and its cached credential.</summary>
    public void Forget(string userId, string providerId, string accountId)
    {
        if (_recentLinks.TryRemove(AccountLink.KeyOf(userId, providerId, accountId), out var recent))
        {
            cache.Forget(recent.Link.CredentialName);
        }
    }

    private void Remember(AccountLink link)
    {
        var now = time.GetUtcNow();
        if (_recentLinks.Count >= options.Value.CredentialCacheCapacity)
        {
            // Bounded like the credential cache: entries older than the link cache duration are of no use.
            foreach (var (key, entry) in _recentLinks)
            {
                if (now - entry.ReadAt >= options.Value.LinkCacheDuration)
                {
                    _recentLinks.TryRemove(key, out _);
                }
            }
        }

        _recentLinks[link.Key] = (link, now);
    }

    private async Task<AccountLink?> WaitForOtherRefresherAsync(AccountLink link, CT ct)
    {
        var deadline = time.GetUtcNow() + BusyWait;
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct);
            var current = await links.GetAsync(link.UserId, link.ProviderId, link.AccountId, ct);
            if (current is null || !current.IsLeased(leases.Now, leases.Longest) || time.GetUtcNow() > deadline)
            {
                return current;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Credential of a {ProviderId} link ({CredentialTag}) read by backend {Caller} (forced refresh: {Forced})")]
    private static partial void LogCredentialRead(ILogger logger, string caller, string providerId, string credentialTag, bool forced);
}

/// <summary>What a backend gets: everything it needs to act for the user, never the refresh token.</summary>
public sealed record BackendCredential(string Provider, string AccountId, string AccessToken, string TokenType, DateTimeOffset? ExpiresAt, string? ApiKey, string? ApiSecret)
{
    public override string ToString() => $"BackendCredential {{ Provider = {Provider}, AccountId = {AccountId}, (secrets redacted) }}";
}
