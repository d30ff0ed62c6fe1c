namespace OAuthBroker.Tests.Support;

/// <summary>
/// Real time plus an offset tests move by hand, so expiry can be reached without waiting
/// (Microsoft.Extensions.TimeProvider.Testing is not on the package feed).
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private long _offsetTicks;

    public ManualClock()
    {
    }

    /// <summary>A clock that runs <paramref name="skew"/> ahead of (or behind) real time, as another machine's might.</summary>
    public ManualClock(TimeSpan skew) => _offsetTicks = skew.Ticks;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow.AddTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    /// <summary>
    /// Moves the clock ahead until the returned handle is disposed. The sandbox keeps real time, so a broker clock
    /// left hours ahead would see the provider's fresh ID tokens as expired in later tests.
    /// </summary>
    public IDisposable AdvanceFor(TimeSpan by)
    {
        Advance(by);
        return new Rewind(this, by);
    }

    private sealed class Rewind(ManualClock clock, TimeSpan by) : IDisposable
    {
        public void Dispose() => clock.Advance(-by);
    }
}
