using System.Globalization;
using System.Text.Json;

namespace OAuthBroker.Providers.Http;

/// <summary>
/// Lifetimes, timestamps and waits taken from provider answers (<c>expires_in</c>, <c>refresh_token_expires_in</c>,
/// JWT <c>exp</c>, <c>Retry-After</c>). A buggy or hostile provider can send any number; none of these readers
/// throws, and every result is clamped to a range the broker can store and schedule. This matters most on refresh:
/// an exception there would come after the provider rotated the refresh token and before the new one is vaulted.
/// </summary>
public static class ProviderNumbers
{
    /// <summary>The longest lifetime the broker believes (ten years); a token claiming more is treated as this.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(3650);

    /// <summary>The longest wait a provider may ask for (one day); longer asks are read as this.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    /// <summary>A lifetime in whole seconds: a JSON integer, an integral string, or a finite number (truncated).</summary>
    public static long? SecondsProperty(this JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.TryGetInt64(out var whole) ? whole : value.TryGetDouble(out var real) ? Truncate(real) : null;
        }

        return value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
            ? Truncate(parsed)
            : null;
    }

    /// <summary><c>now + seconds</c>, for <c>expires_in</c>-style lifetimes; null when absent or not positive.</summary>
    public static DateTimeOffset? ExpiryAfter(long? seconds, DateTimeOffset now) =>
        seconds is > 0 ? now + (seconds.Value >= (long)MaxLifetime.TotalSeconds ? MaxLifetime : TimeSpan.FromSeconds(seconds.Value)) : null;

    /// <summary>A Unix time in seconds (JWT <c>exp</c>, RFC 7519 §2 NumericDate), clamped to <c>now + MaxLifetime</c>; null when not positive.</summary>
    public static DateTimeOffset? UnixTime(long? seconds, DateTimeOffset now)
    {
        if (seconds is not > 0)
        {
            return null;
        }

        var latest = now + MaxLifetime;
        return seconds.Value >= latest.ToUnixTimeSeconds() ? latest : DateTimeOffset.FromUnixTimeSeconds(seconds.Value);
    }

    /// <summary>A wait clamped to [0, <see cref="MaxWait"/>]; null stays null.</summary>
    public static TimeSpan? Wait(TimeSpan? wait) => wait switch
    {
        null => null,
        { } w when w < TimeSpan.Zero => TimeSpan.Zero,
        { } w when w > MaxWait => MaxWait,
        { } w => w,
    };

    /// <summary>A wait given as a number of <paramref name="unit"/>s, clamped like <see cref="Wait(TimeSpan?)"/>; null when not finite.</summary>
    public static TimeSpan? Wait(double amount, TimeSpan unit)
    {
        if (!double.IsFinite(amount))
        {
            return null;
        }

        var ticks = amount * unit.Ticks;
        return ticks <= 0 ? TimeSpan.Zero : ticks >= MaxWait.Ticks ? MaxWait : TimeSpan.FromTicks((long)ticks);
    }

    private static long? Truncate(double value) =>
        !double.IsFinite(value) ? null : value >= long.MaxValue ? long.MaxValue : value <= long.MinValue ? long.MinValue : (long)value;
}
