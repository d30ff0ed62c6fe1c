using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Links;

namespace OAuthBroker.Refresh;

/// <summary>
/// One run of the scheduled refresh: reads the entries due when it started from the due index, page by page and
/// forward only (an entry it cannot act on never hides the ones behind it), refreshes them with bounded concurrency
/// (overall and per provider token endpoint), looks at each link at most once (an entry a refresh re-adds as due at
/// once waits for the next run), stops launching work when its time budget is spent or the vault takes no writes
/// (the next run resumes: whatever is still due is still in the index), and never lets one link's failure stop the
/// rest: a link whose refresh throws is moved back by the retry backoff.
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
        var examined = 0;
        var handled = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        using var overall = new SemaphoreSlim(o.MaxConcurrency);
        var perProvider = new ConcurrentDictionary<string, SemaphoreSlim>(StringComparer.Ordinal);
        var stoppedEarly = false;
        var vaultBlocked = 0;
        string? after = null;

        while (!ct.IsCancellationRequested && !stoppedEarly)
        {
            var page = await schedule.ListDueAsync(started, PageSize, after, ct);
            if (page.Count == 0)
            {
                break;
            }

            after = page[^1].Key;
            var work = new List<Task>();
            foreach (var entry in page)
            {
                if (time.GetUtcNow() >= deadline || Volatile.Read(ref vaultBlocked) != 0)
                {
                    stoppedEarly = true;
                    break;
                }

                examined++;
                if (!handled.TryAdd(AccountLink.KeyOf(entry.UserId, entry.ProviderId, entry.AccountId), 0))
                {
                    // The link was already looked at in this run (its entry was written again during it).
                    continue;
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
                            if (outcome == RefreshOutcome.VaultWritesBlocked)
                            {
                                Interlocked.Exchange(ref vaultBlocked, 1);
                            }
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
                        // Note: one link's failure (storage hiccup, a document that cannot be read) never stops the
                        // others; its entry moves back by the backoff so it is neither retried in a loop nor in the way.
                        Interlocked.Increment(ref errors);
                        LogItemFailed(logger, entry.ProviderId, ex.GetType().Name);
                        await DeferQuietlyAsync(entry, ex);
                    }
                    finally
                    {
                        overall.Release();
                    }
                }, CT.None));
            }

            await Task.WhenAll(work);
        }

        foreach (var gate in perProvider.Values)
        {
            gate.Dispose();
        }

        var report = new SweepReport(examined, outcomes.ToDictionary(p => p.Key, p => p.Value), errors, stoppedEarly, time.GetUtcNow() - started);
        var refreshed = report.Count(RefreshOutcome.Refreshed);
        LogSwept(logger, report.Examined, refreshed, report.Errors, report.StoppedEarly, report.Duration);
        if (vaultBlocked != 0)
        {
            LogVaultBlocked(logger);
        }

        return report;
    }

    private async Task DeferQuietlyAsync(DueEntry entry, Exception failure)
    {
        try
        {
            await refresher.DeferAfterErrorAsync(entry, "error_" + failure.GetType().Name, CT.None);
        }
        catch (Exception ex) when (ex is Errors.StorageUnavailableException or LinkConcurrencyException)
        {
            // Storage is failing too: the entry stays due, and the next run pages past it again.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refresh of a {ProviderId} link failed with {ExceptionType}; it is retried after the backoff")]
    private static partial void LogItemFailed(ILogger logger, string providerId, string exceptionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refresh sweep: {Examined} due, {Refreshed} refreshed, {Errors} errors, stopped early: {StoppedEarly}, took {Duration}")]
    private static partial void LogSwept(ILogger logger, int examined, int refreshed, int errors, bool stoppedEarly, TimeSpan duration);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refresh sweep stopped: the vault does not take writes, so no refresh token is spent; the due links wait for the next run")]
    private static partial void LogVaultBlocked(ILogger logger);
}

/// <summary>What a sweep did: entries examined, outcomes by kind, errors, whether it ran out of budget.</summary>
public sealed record SweepReport(int Examined, IReadOnlyDictionary<RefreshOutcome, int> Outcomes, int Errors, bool StoppedEarly, TimeSpan Duration)
{
    public int Count(RefreshOutcome outcome) => Outcomes.GetValueOrDefault(outcome);
}
