using System.Collections.Concurrent;

namespace OAuthBroker.Sandbox.Faults;

/// <summary>
/// Scripted misbehaviour for fault tests: the next N requests under a path answer with a given status and body,
/// or only after a delay (a timeout). Set in-process by tests, or over HTTP at <c>/_sandbox/faults</c>.
/// </summary>
public sealed class FaultInjector
{
    private readonly ConcurrentQueue<Fault> _faults = new();

    public void Add(Fault fault) => _faults.Enqueue(fault);

    public void Clear() => _faults.Clear();

    /// <summary>Takes one use of the first fault that applies to <paramref name="path"/>.</summary>
    public Fault? Take(string path)
    {
        foreach (var fault in _faults)
        {
            if (path.StartsWith(fault.PathPrefix, StringComparison.Ordinal) && path.EndsWith(fault.PathSuffix, StringComparison.Ordinal) && fault.TryUse())
            {
                return fault;
            }
        }

        return null;
    }
}

/// <param name="PathPrefix">Requests whose path starts with this are affected.</param>
/// <param name="Status">Status to answer with (ignored when only delaying: 0).</param>
/// <param name="Body">Body to answer with.</param>
/// <param name="ContentType">Content type of <paramref name="Body"/>.</param>
/// <param name="Delay">Wait this long first (longer than the broker's timeout = a timeout).</param>
/// <param name="Times">How many requests it affects.</param>
public sealed record Fault(string PathPrefix, int Status, string Body = "", string ContentType = "text/plain", TimeSpan Delay = default, int Times = 1)
{
    private int _remaining = Times;

    /// <summary>Headers to add to the faulty answer (e.g. Retry-After).</summary>
    public Dictionary<string, string> Headers { get; init; } = [];

    /// <summary>Only paths that also end with this are affected (e.g. <c>/secret</c> under a prefix with ids).</summary>
    public string PathSuffix { get; init; } = "";

    internal bool TryUse() => Interlocked.Decrement(ref _remaining) >= 0;
}

public static class FaultEndpoints
{
    /// <summary>Applies scripted faults before the provider endpoints run.</summary>
    public static void UseFaults(this WebApplication app)
    {
        var faults = app.Services.GetRequiredService<FaultInjector>();
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/_sandbox") || faults.Take(context.Request.Path.Value ?? "") is not { } fault)
            {
                await next(context);
                return;
            }

            if (fault.Delay > TimeSpan.Zero)
            {
                await Task.Delay(fault.Delay, context.RequestAborted);
            }

            if (fault.Status == 0)
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = fault.Status;
            context.Response.ContentType = fault.ContentType;
            foreach (var (name, value) in fault.Headers)
            {
                context.Response.Headers[name] = value;
            }

            await context.Response.WriteAsync(fault.Body, context.RequestAborted);
        });

        app.MapPost("/_sandbox/faults", (Fault fault, FaultInjector injector) =>
        {
            injector.Add(fault);
            return TypedResults.NoContent();
        });
        app.MapDelete("/_sandbox/faults", (FaultInjector injector) =>
        {
            injector.Clear();
            return TypedResults.NoContent();
        });
    }
}
