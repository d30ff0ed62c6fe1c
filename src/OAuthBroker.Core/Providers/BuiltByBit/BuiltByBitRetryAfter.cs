using System.Globalization;

namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>
/// BuiltByBit answers 429 with Retry-After. HTTP says seconds; BuiltByBit's own JS and Rust wrappers read it as
/// milliseconds (provider-contracts.md §3, "Rate limits"). Both readings, safely: a value a server could only mean
/// as milliseconds (above 300, i.e. five minutes if it were seconds) is milliseconds; anything smaller is taken as
/// seconds, the longer — never too short — of the two waits.
/// </summary>
public static class BuiltByBitRetryAfter
{
    public const int MillisecondsThreshold = 300;

    public static TimeSpan? Interpret(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }

        if (double.TryParse(raw.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= 0)
        {
            return number > MillisecondsThreshold ? TimeSpan.FromMilliseconds(number) : TimeSpan.FromSeconds(number);
        }

        return DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? date - DateTimeOffset.UtcNow
            : null;
    }
}
