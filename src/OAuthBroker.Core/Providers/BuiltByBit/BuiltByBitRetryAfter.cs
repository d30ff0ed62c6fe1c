using System.Globalization;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>
/// BuiltByBit answers 429 with Retry-After. HTTP says seconds; BuiltByBit's own JS and Rust wrappers read it as
/// milliseconds (BuiltByBit/js-api-wrapper src/Http.js, Majored/rs-bbb-api-wrapper src/http.rs). Both readings, safely: a value a server could only mean
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

        // Clamped (ProviderNumbers.Wait): "1e300" or a date in the year 9999 must not throw or schedule forever.
        if (double.TryParse(raw.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= 0)
        {
            return ProviderNumbers.Wait(number, number > MillisecondsThreshold ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromSeconds(1));
        }

        return DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? ProviderNumbers.Wait(date - DateTimeOffset.UtcNow)
            : null;
    }
}
