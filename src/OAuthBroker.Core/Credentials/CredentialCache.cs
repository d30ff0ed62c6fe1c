using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Refresh;

namespace OAuthBroker.Credentials;

/// <summary>
/// Per-instance cache of vault reads, so backend load does not hit Key Vault's limits (~4,000 reads per 10 s per
/// vault). A cached copy is used only while it is the version the link row names (<see cref="AccountLink.CredentialVersion"/>;
/// <see cref="AccountLink.CredentialStoredAt"/> for rows from before versions were pinned) and younger than <see cref="RefreshOptions.VaultCacheDuration"/>. It holds what a backend is handed (never the
/// refresh token), at most <see cref="RefreshOptions.CredentialCacheCapacity"/> entries, and drops an unlinked link's
/// entry at once on this instance (other instances' copies age out within the cache duration).
/// </summary>
public sealed class CredentialCache(ICredentialVault vault, IOptions<RefreshOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (VaultedCredential Credential, DateTimeOffset ReadAt)> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public async Task<VaultedCredential?> ReadAsync(AccountLink link, CT ct)
    {
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(link.CredentialName, out var cached)
            && now - cached.ReadAt < options.Value.VaultCacheDuration
            && IsVersionOf(link, cached.Credential))
        {
            return cached.Credential;
        }

        var fresh = await vault.ReadCurrentAsync(link, ct);
        if (fresh is null)
        {
            _entries.TryRemove(link.CredentialName, out _);
            return null;
        }

        // The refresh token never leaves the broker and is never needed to serve a backend: it is not kept here.
        var served = fresh with { Credential = fresh.Credential with { RefreshToken = null } };
        MakeRoom(now);
        _entries[link.CredentialName] = (served, now);
        return served;
    }

    private static bool IsVersionOf(AccountLink link, VaultedCredential credential) => link.CredentialVersion is { } version
        ? credential.Version == version
        : link.CredentialStoredAt is { } storedAt && credential.StoredAt == storedAt;

    /// <summary>Drops what is cached for a secret (its link was unlinked or moved).</summary>
    public void Forget(string credentialName) => _entries.TryRemove(credentialName, out _);

    /// <summary>Past capacity: expired entries go first, then the oldest.</summary>
    private void MakeRoom(DateTimeOffset now)
    {
        var capacity = options.Value.CredentialCacheCapacity;
        if (_entries.Count < capacity)
        {
            return;
        }

        foreach (var (name, entry) in _entries)
        {
            if (now - entry.ReadAt >= options.Value.VaultCacheDuration)
            {
                _entries.TryRemove(name, out _);
            }
        }

        foreach (var (name, _) in _entries.OrderBy(e => e.Value.ReadAt).Take(Math.Max(0, _entries.Count - capacity + 1)).ToList())
        {
            _entries.TryRemove(name, out _);
        }
    }
}
