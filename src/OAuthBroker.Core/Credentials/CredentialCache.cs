using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OAuthBroker.Links;
using OAuthBroker.Refresh;

namespace OAuthBroker.Credentials;

/// <summary>
/// Per-instance cache of vault reads, so backend load does not hit Key Vault's limits (~4,000 reads per 10 s per
/// vault). A cached copy is used only while it is the version the link row names (<see cref="AccountLink.CredentialStoredAt"/>)
/// and younger than <see cref="RefreshOptions.VaultCacheDuration"/>, so a refresh anywhere is seen at once.
/// </summary>
public sealed class CredentialCache(ICredentialVault vault, IOptions<RefreshOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (VaultedCredential Credential, DateTimeOffset ReadAt)> _entries = new(StringComparer.Ordinal);

    public async Task<VaultedCredential?> ReadAsync(AccountLink link, CT ct)
    {
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(link.CredentialName, out var cached)
            && now - cached.ReadAt < options.Value.VaultCacheDuration
            && link.CredentialStoredAt is { } version && cached.Credential.StoredAt == version)
        {
            return cached.Credential;
        }

        var fresh = await vault.ReadAsync(link.CredentialName, ct);
        if (fresh is null)
        {
            _entries.TryRemove(link.CredentialName, out _);
            return null;
        }

        _entries[link.CredentialName] = (fresh, now);
        return fresh;
    }
}
