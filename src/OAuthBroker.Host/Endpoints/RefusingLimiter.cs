using System.Threading.RateLimiting;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// The limiter for requests with no client address: it refuses every one, so they neither share one allowance (where one
/// client could use up everyone's) nor go unlimited. <c>ConcurrencyLimiter</c> with no permits cannot stand in: it throws
/// when asked for more permits than its limit (dotnet/runtime ConcurrencyLimiter.AttemptAcquireCore).
/// </summary>
public sealed class RefusingLimiter : RateLimiter
{
    /// <summary>Never idle: the partitioned limiter keeps its one instance rather than replacing it.</summary>
    public override TimeSpan? IdleDuration => null;

    public override RateLimiterStatistics? GetStatistics() => new() { CurrentAvailablePermits = 0 };

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => Refused.Lease;

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) => ValueTask.FromResult<RateLimitLease>(Refused.Lease);

    private sealed class Refused : RateLimitLease
    {
        public static readonly Refused Lease = new();

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
