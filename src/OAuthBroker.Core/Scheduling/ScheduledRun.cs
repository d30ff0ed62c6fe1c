using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Refresh;

namespace OAuthBroker.Scheduling;

/// <summary>
/// One scheduled run, the same under the Functions timer and the in-process scheduler: the refresh sweep first (it
/// keeps links alive), then each housekeeping task in turn within <see cref="RefreshOptions.HousekeepingBudget"/>.
/// Like the sweep, one task's failure never stops the others; failures are collected and reported together.
/// </summary>
public sealed partial class ScheduledRun(
    RefreshSweep sweep,
    IEnumerable<IHousekeepingTask> housekeeping,
    IOptions<RefreshOptions> options,
    TimeProvider time,
    ILogger<ScheduledRun> logger)
{
    public async Task<ScheduledRunReport> RunAsync(CT ct)
    {
        var sweepReport = await sweep.RunAsync(ct);
        var deadline = time.GetUtcNow() + options.Value.HousekeepingBudget;
        var done = new Dictionary<string, int>(StringComparer.Ordinal);
        var failed = new List<string>();
        foreach (var task in housekeeping)
        {
            if (time.GetUtcNow() >= deadline)
            {
                break;
            }

            try
            {
                done[task.Name] = await task.RunAsync(deadline, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Note: housekeeping that fails (storage down) is retried by the next run; it must not hide the others.
                failed.Add(task.Name);
                LogTaskFailed(logger, task.Name, ex.GetType().Name);
            }
        }

        return new ScheduledRunReport(sweepReport, done, failed);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Housekeeping task {Task} failed with {ExceptionType}; the next run will try again")]
    private static partial void LogTaskFailed(ILogger logger, string task, string exceptionType);
}
