using System.Globalization;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// Where a pending Fast API Key authorization stands (stored as <see cref="PendingAuthorization.Progress"/>; nothing
/// secret). <see cref="KeyAtFirstLook"/> is what tells a key this flow created from one that was already there: only
/// a key absent at the first look after the exchange is provably this flow's own.
/// </summary>
/// <param name="KeyWaitUntil">The latest time the user's key may still appear.</param>
/// <param name="KeyAtFirstLook">Null before the first <c>/info</c> answer; "" when that answer had no key; else its externalId.</param>
/// <param name="LockedUntil">While 423s are waited out: when to give up.</param>
/// <param name="NextLockDelay">The next wait after a 423 (doubling, capped).</param>
internal sealed record WhiteBitProgress(DateTimeOffset KeyWaitUntil, string? KeyAtFirstLook, DateTimeOffset? LockedUntil, TimeSpan? NextLockDelay)
{
    private const string KeyWaitUntilName = "keyWaitUntil";
    private const string KeyAtFirstLookName = "keyAtFirstLook";
    private const string LockedUntilName = "lockedUntil";
    private const string NextLockDelayName = "nextLockDelayMs";

    /// <summary>True when <paramref name="externalId"/> was absent at the first look, so this flow created it.</summary>
    public bool CreatedDuringFlow(string externalId) => KeyAtFirstLook is "" && externalId.Length > 0;

    public IReadOnlyDictionary<string, string> ToDictionary()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { [KeyWaitUntilName] = KeyWaitUntil.ToString("O", CultureInfo.InvariantCulture) };
        if (KeyAtFirstLook is not null)
        {
            values[KeyAtFirstLookName] = KeyAtFirstLook;
        }

        if (LockedUntil is { } locked)
        {
            values[LockedUntilName] = locked.ToString("O", CultureInfo.InvariantCulture);
        }

        if (NextLockDelay is { } delay)
        {
            values[NextLockDelayName] = ((long)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }

        return values;
    }

    /// <summary>Reads what <see cref="ToDictionary"/> wrote; a damaged record ends the wait rather than extending it.</summary>
    public static WhiteBitProgress From(IReadOnlyDictionary<string, string> values)
    {
        static DateTimeOffset? Time(IReadOnlyDictionary<string, string> v, string name) =>
            v.TryGetValue(name, out var text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : null;

        var delay = values.TryGetValue(NextLockDelayName, out var ms) && long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            ? TimeSpan.FromMilliseconds(Math.Min(parsed, (long)TimeSpan.FromHours(1).TotalMilliseconds))
            : (TimeSpan?)null;
        return new WhiteBitProgress(Time(values, KeyWaitUntilName) ?? DateTimeOffset.MinValue, values.GetValueOrDefault(KeyAtFirstLookName), Time(values, LockedUntilName), delay);
    }
}
