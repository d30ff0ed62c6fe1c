namespace OAuthBroker.Sealing;

/// <summary>One version of the sealing secret, as the vault lists it (no value).</summary>
public sealed record SealingKeyVersion(string Id, DateTimeOffset CreatedOn, bool Enabled, DateTimeOffset? NotBefore = null, DateTimeOffset? ExpiresOn = null)
{
    public bool IsUsableAt(DateTimeOffset now) => Enabled && (NotBefore is null || NotBefore <= now) && (ExpiresOn is null || ExpiresOn > now);
}

/// <summary>
/// Which versions of a rotating secret form the ring, and which one seals. The scheme of ASP.NET Core Data
/// Protection's key ring ("Key management": keys activate some time after creation so every instance has them first),
/// applied to Key Vault versions:
/// <list type="bullet">
/// <item>a version seals only once it is <see cref="ActivationDelay"/> old, so every instance, refreshing every
/// <see cref="RefreshInterval"/>, already holds it by then and opens what another instance sealed with it;</item>
/// <item>the newest such version seals; when none is that old (the very first key, or an emergency rotation that
/// disabled every older one) the oldest usable one does, so a new deployment works at once;</item>
/// <item>a version superseded by an activated newer one for more than <see cref="RetireAfter"/> leaves the ring: sealed
/// state lives minutes (flows at most 30 + 5, pending links at most 15), so nothing it sealed is still valid;</item>
/// <item>a disabled, not-yet-valid or expired version (Key Vault attributes <c>enabled</c>, <c>nbf</c>, <c>exp</c>) is
/// never in the ring: disabling a version is how an operator withdraws a key at once.</item>
/// </list>
/// </summary>
public static class SealingKeySchedule
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    /// <summary>Three refresh intervals: one to load, with room for a slow refresh and clocks that differ.</summary>
    public static readonly TimeSpan ActivationDelay = TimeSpan.FromMinutes(15);

    public static readonly TimeSpan RetireAfter = TimeSpan.FromHours(1);

    /// <returns>The versions in the ring (oldest first) and the one that seals; no current one when nothing is usable.</returns>
    public static (IReadOnlyList<SealingKeyVersion> InRing, SealingKeyVersion? Current) Select(IEnumerable<SealingKeyVersion> versions, DateTimeOffset now)
    {
        var usable = versions.Where(v => v.IsUsableAt(now)).OrderBy(v => v.CreatedOn).ThenBy(v => v.Id, StringComparer.Ordinal).ToList();
        var activated = usable.Where(v => v.CreatedOn + ActivationDelay <= now).ToList();
        var current = activated.Count > 0 ? activated[^1] : usable.FirstOrDefault();
        var inRing = usable.Where(v => !activated.Any(newer => newer.CreatedOn > v.CreatedOn && newer.CreatedOn + ActivationDelay + RetireAfter <= now)).ToList();
        return (inRing, current);
    }
}
