using System.Collections.Concurrent;

namespace OAuthBroker.Sandbox.BuiltByBit;

/// <summary>
/// BuiltByBit's rate limits as its official wrappers model them (BuiltByBit/js-api-wrapper src/Throttler.js, Majored/rs-bbb-api-wrapper
/// src/http.rs): separate READ (GET) and WRITE (POST/PATCH/DELETE) budgets, 429 with a Retry-After the wrappers read as
/// milliseconds. The numbers are undocumented: per client per minute, from <see cref="BuiltByBitSandboxOptions"/>.
/// </summary>
public sealed class BuiltByBitRateLimits(TimeProvider time)
{
    private readonly ConcurrentDictionary<(string ClientId, bool Write), Window> _windows = new();

    /// <summary>Null when the request may proceed; otherwise the 429 to answer.</summary>
    public IResult? Check(string clientId, bool write, BuiltByBitSandboxOptions settings)
    {
        if ((write ? settings.WriteRequestsPerMinute : settings.ReadRequestsPerMinute) is not { } limit)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var window = _windows.AddOrUpdate((clientId, write), _ => new Window(now, 1),
            (_, current) => now - current.Start >= TimeSpan.FromMinutes(1) ? new Window(now, 1) : current with { Count = current.Count + 1 });
        if (window.Count <= limit)
        {
            return null;
        }

        var wait = window.Start + TimeSpan.FromMinutes(1) - now;
        var retryAfter = settings.RetryAfterUnit == RetryAfterUnit.Milliseconds
            ? ((long)Math.Ceiling(wait.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : ((long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new TooManyRequests(retryAfter);
    }

    /// <summary>Forgets every window (a test's limits start fresh).</summary>
    public void Reset() => _windows.Clear();

    private sealed record Window(DateTimeOffset Start, int Count);

    /// <summary>spec.yaml components.responses.Error envelope, with the Retry-After header.</summary>
    private sealed class TooManyRequests(string retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = 429;
            httpContext.Response.Headers.RetryAfter = retryAfter;
            return httpContext.Response.WriteAsJsonAsync(new { result = "error", error = new { code = "TooManyRequests", message = "Rate limit exceeded." } });
        }
    }
}
