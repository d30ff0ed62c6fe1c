using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;
using OAuthBroker.Refresh;

namespace OAuthBroker.Storage.Tables;

/// <summary>
/// The Table service's clock, learnt from the <c>Date</c> header of every Table response (the storage REST API
/// returns it on every operation; RFC 9110 §6.6.1 gives it one-second resolution) and carried forward on this
/// instance's monotonic timestamp, so neither this instance's wall clock nor a step in it matters.
/// <para>
/// The estimate is a lower bound: <c>Date</c> is truncated to the second and was stamped before the response
/// arrived, so the largest offset seen recently is kept (the closest lower bound) and forgotten after a few
/// minutes, in case the service's clock was corrected. Until the first response, this instance's own clock stands in.
/// </para>
/// </summary>
public sealed class TableServerClock(TimeProvider time) : ILeaseClock
{
    /// <summary>How long one observation is trusted as the best lower bound.</summary>
    private static readonly TimeSpan Memory = TimeSpan.FromMinutes(5);

    private readonly Lock _gate = new();
    private TimeSpan? _offset;
    private long _offsetObservedAt;

    public DateTimeOffset UtcNow
    {
        get
        {
            lock (_gate)
            {
                return _offset is { } offset ? Monotonic() + offset : time.GetUtcNow();
            }
        }
    }

    /// <summary>Records one <c>Date</c> value seen on a response that just arrived.</summary>
    public void Observe(DateTimeOffset serverDate)
    {
        var offset = serverDate - Monotonic();
        lock (_gate)
        {
            var stale = time.GetElapsedTime(_offsetObservedAt) > Memory;
            if (_offset is null || stale || offset > _offset)
            {
                _offset = offset;
                _offsetObservedAt = time.GetTimestamp();
            }
        }
    }

    /// <summary>A point on a line that only moves forward with elapsed time (its origin is arbitrary).</summary>
    private DateTimeOffset Monotonic() => DateTimeOffset.UnixEpoch + TimeSpan.FromTicks((long)(time.GetTimestamp() * ((double)TimeSpan.TicksPerSecond / time.TimestampFrequency)));

    /// <summary>The pipeline policy that feeds the clock from every Table response, retries included.</summary>
    internal sealed class DatePolicy(TableServerClock clock) : HttpPipelinePolicy
    {
        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            Record(message);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            Record(message);
        }

        private void Record(HttpMessage message)
        {
            if (message.HasResponse && message.Response.Headers.TryGetValue("Date", out var value)
                && DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                clock.Observe(date);
            }
        }
    }
}
