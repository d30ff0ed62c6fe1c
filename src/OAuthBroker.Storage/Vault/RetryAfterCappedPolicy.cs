using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;

namespace OAuthBroker.Storage.Vault;

/// <summary>
/// Azure.Core's retry policy, except that a response asking to wait longer than <paramref name="cap"/> (Retry-After in
/// seconds or as an HTTP date, RFC 9110 §10.2.3, or Azure's <c>retry-after-ms</c> / <c>x-ms-retry-after-ms</c>) is
/// not retried: Azure.Core waits whatever the server asks (<c>RetryOptions.MaxDelay</c> does not apply to a
/// Retry-After), and an unbounded wait cannot be budgeted into a refresher's lease. The call then fails as throttled,
/// which is what a vault that keeps asking for long waits is.
/// </summary>
internal sealed class RetryAfterCappedPolicy(int maxRetries, DelayStrategy delay, TimeSpan cap) : RetryPolicy(maxRetries, delay)
{
    protected override async ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
        !AsksLongerThanCap(message) && await base.ShouldRetryAsync(message, exception);

    protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
        !AsksLongerThanCap(message) && base.ShouldRetry(message, exception);

    private bool AsksLongerThanCap(HttpMessage message) => message.HasResponse && RequestedDelay(message.Response) > cap;

    internal static TimeSpan? RequestedDelay(Azure.Response response)
    {
        foreach (var header in new[] { "retry-after-ms", "x-ms-retry-after-ms" })
        {
            if (response.Headers.TryGetValue(header, out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds))
            {
                return TimeSpan.FromMilliseconds(milliseconds);
            }
        }

        if (!response.Headers.TryGetValue("Retry-After", out var value))
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? date - DateTimeOffset.UtcNow
            : null;
    }
}
