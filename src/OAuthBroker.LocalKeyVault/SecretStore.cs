using System.Security.Cryptography;
using System.Text.Json;

namespace OAuthBroker.LocalKeyVault;

/// <summary>
/// Secrets with versions and Key Vault's soft-delete rules: a deleted name can only be recovered or purged, and
/// creating it again fails with 409 — exactly what makes the broker never reuse a name.
/// </summary>
public sealed class SecretStore
{
    private readonly Lock _gate = new();
    private readonly string? _dataFile;
    private readonly Dictionary<string, StoredSecret> _active;
    private readonly Dictionary<string, StoredSecret> _deleted;

    public SecretStore(string? dataFile)
    {
        _dataFile = dataFile;
        _active = Load(dataFile, out _deleted);
    }

    public sealed class StoredSecret
    {
        public string Name { get; set; } = "";
        public List<SecretVersion> Versions { get; set; } = [];
        public DateTimeOffset? DeletedAt { get; set; }
    }

    /// <summary>One version with its attributes (Key Vault "SecretAttributes": enabled, nbf, exp, created, updated).</summary>
    public sealed record SecretVersion(string Version, string Value, string? ContentType, Dictionary<string, string>? Tags, DateTimeOffset Created,
        bool Enabled = true, DateTimeOffset? NotBefore = null, DateTimeOffset? Expires = null, DateTimeOffset? Updated = null);

    public enum SetOutcome
    {
        Written,
        NameIsDeleted,
    }

    public (SetOutcome Outcome, SecretVersion? Version) Set(string name, string value, string? contentType, Dictionary<string, string>? tags)
    {
        lock (_gate)
        {
            if (_deleted.ContainsKey(name))
            {
                return (SetOutcome.NameIsDeleted, null);
            }

            if (!_active.TryGetValue(name, out var secret))
            {
                _active[name] = secret = new StoredSecret { Name = name };
            }

            var version = new SecretVersion(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), value, contentType, tags, DateTimeOffset.UtcNow);
            secret.Versions.Add(version);
            Save();
            return (SetOutcome.Written, version);
        }
    }

    /// <summary>
    /// How long a write stays invisible to reads. Zero by default: "By default a write is visible to the next read at
    /// once"; a vault allow-listed for higher throughput makes writes visible only "within 60 seconds" (Key Vault
    /// throttling guidance, learn.microsoft.com/azure/key-vault/general/overview-throttling). Until then a read of the
    /// secret answers the version before it, and a read of the new version by its id finds nothing.
    /// </summary>
    public TimeSpan ReadLag { get; set; }

    public (StoredSecret Secret, SecretVersion Version)? Get(string name, string? version)
    {
        lock (_gate)
        {
            if (!_active.TryGetValue(name, out var secret))
            {
                return null;
            }

            var visibleUntil = DateTimeOffset.UtcNow - ReadLag;
            var visible = secret.Versions.Where(v => ReadLag <= TimeSpan.Zero || v.Created <= visibleUntil);
            var found = version is null ? visible.LastOrDefault() : visible.FirstOrDefault(v => v.Version == version);
            return found is null ? null : (secret, found);
        }
    }

    /// <summary>Every version of an active secret, oldest first; null when there is no such secret.</summary>
    public IReadOnlyList<SecretVersion>? VersionsOf(string name)
    {
        lock (_gate)
        {
            return _active.TryGetValue(name, out var secret) ? [.. secret.Versions] : null;
        }
    }

    /// <summary>Changes a version's attributes (Update Secret: only what is given changes); null when there is no such version.</summary>
    public SecretVersion? UpdateAttributes(string name, string version, bool? enabled, DateTimeOffset? notBefore, DateTimeOffset? expires)
    {
        lock (_gate)
        {
            var index = _active.TryGetValue(name, out var secret) ? secret.Versions.FindIndex(v => v.Version == version) : -1;
            if (index < 0)
            {
                return null;
            }

            var current = secret!.Versions[index];
            var updated = current with
            {
                Enabled = enabled ?? current.Enabled,
                NotBefore = notBefore ?? current.NotBefore,
                Expires = expires ?? current.Expires,
                Updated = DateTimeOffset.UtcNow,
            };
            secret.Versions[index] = updated;
            Save();
            return updated;
        }
    }

    public StoredSecret? Delete(string name)
    {
        lock (_gate)
        {
            if (!_active.Remove(name, out var secret))
            {
                return null;
            }

            secret.DeletedAt = DateTimeOffset.UtcNow;
            _deleted[name] = secret;
            Save();
            return secret;
        }
    }

    public StoredSecret? GetDeleted(string name)
    {
        lock (_gate)
        {
            return _deleted.GetValueOrDefault(name);
        }
    }

    public bool Purge(string name)
    {
        lock (_gate)
        {
            var removed = _deleted.Remove(name);
            Save();
            return removed;
        }
    }

    public StoredSecret? Recover(string name)
    {
        lock (_gate)
        {
            if (!_deleted.Remove(name, out var secret))
            {
                return null;
            }

            secret.DeletedAt = null;
            _active[name] = secret;
            Save();
            return secret;
        }
    }

    /// <summary>A page of the active secrets in name order; <paramref name="more"/> when others follow.</summary>
    public IReadOnlyList<StoredSecret> List(int skip, int take, out bool more)
    {
        lock (_gate)
        {
            var ordered = _active.Values.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ToList();
            more = ordered.Count > skip + take;
            return ordered.Skip(skip).Take(take).ToList();
        }
    }

    public int VersionCount(string name)
    {
        lock (_gate)
        {
            return (_active.GetValueOrDefault(name) ?? _deleted.GetValueOrDefault(name))?.Versions.Count ?? 0;
        }
    }

    public int ActiveCount
    {
        get
        {
            lock (_gate)
            {
                return _active.Count;
            }
        }
    }

    private sealed record Snapshot(List<StoredSecret> Active, List<StoredSecret> Deleted);

    private void Save()
    {
        if (_dataFile is null)
        {
            return;
        }

        var temporary = _dataFile + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(new Snapshot([.. _active.Values], [.. _deleted.Values])));
        File.Move(temporary, _dataFile, overwrite: true);
    }

    private static Dictionary<string, StoredSecret> Load(string? dataFile, out Dictionary<string, StoredSecret> deleted)
    {
        // Key Vault compares names case-insensitively.
        deleted = new(StringComparer.OrdinalIgnoreCase);
        var active = new Dictionary<string, StoredSecret>(StringComparer.OrdinalIgnoreCase);
        if (dataFile is null || !File.Exists(dataFile))
        {
            return active;
        }

        var snapshot = JsonSerializer.Deserialize<Snapshot>(File.ReadAllText(dataFile));
        foreach (var secret in snapshot?.Active ?? [])
        {
            active[secret.Name] = secret;
        }

        foreach (var secret in snapshot?.Deleted ?? [])
        {
            deleted[secret.Name] = secret;
        }

        return active;
    }
}
