namespace OAuthBroker.Tests.Support;

/// <summary>
/// Real time plus an offset tests move by hand, so expiry can be reached without waiting
/// (Microsoft.Extensions.TimeProvider.Testing is not on the package feed).
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow.AddTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
