namespace OAuthBroker.Events;

/// <summary>
/// When to try a failed delivery again: exponential backoff with jitter, as Standard Webhooks recommends ("retry …
/// with an exponential backoff … add some level of random jitter", standard-webhooks/standard-webhooks
/// <c>spec/standard-webhooks.md</c>, "Deliverability and reliability"), until <see cref="EventsOptions.DeadLetterAfter"/>.
/// </summary>
public static class DeliveryBackoff
{
    /// <summary>
    /// The delay after the <paramref name="attempts"/>-th failed attempt: base × 2^(attempts−1), at most the maximum, then
    /// "equal jitter" (a random point in its upper half), so a receiver that failed for everyone is not hit by all at once.
    /// </summary>
    public static TimeSpan After(int attempts, EventsOptions options, Random random)
    {
        var exponent = Math.Min(Math.Max(attempts - 1, 0), 30);
        var ticks = Math.Min((double)options.RetryBaseDelay.Ticks * Math.Pow(2, exponent), options.RetryMaxDelay.Ticks);
        return TimeSpan.FromTicks((long)(ticks / 2 + random.NextDouble() * ticks / 2));
    }

    /// <summary>True when a delivery first queued at <paramref name="firstQueuedAt"/> has been tried long enough.</summary>
    public static bool Exhausted(DateTimeOffset firstQueuedAt, DateTimeOffset now, EventsOptions options) =>
        now - firstQueuedAt >= options.DeadLetterAfter;
}
