namespace OAuthBroker.Tests.Providers;

/// <summary>
/// A clock that only moves when someone waits on it: each timer (what <c>Task.Delay(wait, timeProvider)</c> creates)
/// records its due time, moves the clock that far, and fires at once. Tests then check the waits an adapter asked
/// for (pacing, back-off) without measuring time.
/// </summary>
public sealed class RecordingClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<TimeSpan> _waits = [];
    private long _ticks = DateTimeOffset.UtcNow.UtcTicks;

    public IReadOnlyList<TimeSpan> Waits
    {
        get
        {
            lock (_gate)
            {
                return [.. _waits];
            }
        }
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime < TimeSpan.Zero)
        {
            return new Fired();
        }

        lock (_gate)
        {
            _waits.Add(dueTime);
        }

        Advance(dueTime);
        ThreadPool.QueueUserWorkItem(_ => callback(state));
        return new Fired();
    }

    private sealed class Fired : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => false;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
