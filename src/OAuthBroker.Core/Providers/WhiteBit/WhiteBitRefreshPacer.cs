namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// Starts calls to <c>/oauth2/refresh_token</c> at least <see cref="WhiteBitDefaults.RefreshSpacing"/> (plus a little for
/// network jitter) apart: openapi/oauth2.yaml, "Rate limit: 1 request per second". Each caller reserves the next free slot
/// and waits for it. One pacer serves every WhiteBIT provider on the same server in this process (the App Builders FAQ:
/// "REST rate limits are enforced per IP address", so a classic and a Fast client share the budget). Other instances are
/// not seen; their collisions come back as 429, which carries a one-second wait.
/// </summary>
public sealed class WhiteBitRefreshPacer(TimeProvider time)
{
    /// <summary>Requests leave at this spacing; arrival order and timing can differ by a few tens of milliseconds.</summary>
    private static readonly TimeSpan Spacing = WhiteBitDefaults.RefreshSpacing + TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private readonly long _spacing = (long)(Spacing.TotalSeconds * time.TimestampFrequency);
    private long _nextSlot = long.MinValue;

    public async Task<T> RunAsync<T>(Func<Task<T>> call, CT ct)
    {
        // Note: monotonic timestamps, not wall-clock time: a clock set back must not push the next slot far away.
        long now;
        long slot;
        lock (_gate)
        {
            now = time.GetTimestamp();
            slot = Math.Max(_nextSlot, now);
            _nextSlot = slot + _spacing;
        }

        var wait = time.GetElapsedTime(now, slot);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, ct);
        }

        return await call();
    }
}
