using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Refresh;

/// <summary>
/// One run of the scheduled refresh: reads only due entries from the due index, refreshes them with bounded
/// concurrency (overall and per provider token endpoint), stops launching work when its time budget is spent (the
/// next run resumes: whatever is still due is still in the index), and never lets one link's failure stop the rest.
/// </summary>
public sealed partial class RefreshSweep(
    IRefreshSchedule schedule,
    LinkRefresher refresher,
    IOptions<RefreshOptions> options,
    TimeProvider time,
    ILogger<RefreshSweep> logger)
{
    private const int PageSize = 200;

    public async Task<SweepReport> RunAsync(CT ct)
    {
        var o = options.Value;
        var started = time.GetUtcNow();
        var deadline = started + o.SweepBudget;
        var outcomes = new ConcurrentDictionary<RefreshOutcome, int>();
        var errors = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var overall = new SemaphoreSlim(o.MaxConcurrency);
        var perProvider = new ConcurrentDictionary<string, SemaphoreSlim>(StringComparer.Ordinal);
        var stoppedEarly = false;

        while (!ct.IsCancellationRequested)
        {
            var due = (await schedule.ListDueAsync(time.GetUtcNow(), PageSize, ct)).Where(e => seen.Add(e.Key)).ToList();
            if (due.Count == 0)
            {
                break;
            }

            var work = new List<Task>();
            foreach (var entry in due)
            {
                if (time.GetUtcNow() >= deadline)
                {
                    stoppedEarly = true;
                    break;
                }

                await overall.WaitAsync(ct);
                var gate = perProvider.GetOrAdd(entry.ProviderId, _ => new SemaphoreSlim(o.MaxConcurrencyPerProvider));
                work.Add(Task.Run(async () =>
                {
                    try
                    {
                        await gate.WaitAsync(ct);
                        try
                        {
                            var outcome = await refresher.RefreshDueAsync(entry, ct);
                            outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        // Stopping: the entry stays in the index for the next run.
                    }
                    catch (Exception ex)
                    {
                        // Note: one link's failure (storage hiccup, vault throttling) never stops the others; its entry
                        // stays due and the next run tries again.
                        Interlocked.Increment(ref errors);
                        LogItemFailed(logger, entry.ProviderId, ex.GetType().Name);
                    }
                    finally
                    {
                        overall.Release();
                    }
                }, CT.None));
            }

            await Task.WhenAll(work);
            if (stoppedEarly)
            {
                break;
            }
        }

        foreach (var gate in perProvider.Values)
        {
            gate.Dispose();
        }

        var report = new SweepReport(seen.Count, outcomes.ToDictionary(p => p.Key, p => p.Value), errors, stoppedEarly, time.GetUtcNow() - started);
        var refreshed = report.Count(RefreshOutcome.Refreshed);
        LogSwept(logger, report.Examined, refreshed, report.Errors, report.StoppedEarly, report.Duration);
        return report;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refresh of a {ProviderId} link failed with {ExceptionType}; it stays due")]
    private static partial void LogItemFailed(ILogger logger, string providerId, string exceptionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refresh sweep: {Examined} due, {Refreshed} refreshed, {Errors} errors, stopped early: {StoppedEarly}, took {Duration}")]
    private static partial void LogSwept(ILogger logger, int examined, int refreshed, int errors, bool stoppedEarly, TimeSpan duration);
}

/// <summary>What a sweep did: entries examined, outcomes by kind, errors, whether it ran out of budget.</summary>
public sealed record SweepReport(int Examined, IReadOnlyDictionary<RefreshOutcome, int> Outcomes, int Errors, bool StoppedEarly, TimeSpan Duration)
{
    public int Count(RefreshOutcome outcome) => Outcomes.GetValueOrDefault(outcome);
}
