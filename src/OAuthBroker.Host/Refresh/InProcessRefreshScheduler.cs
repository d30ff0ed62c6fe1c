using Microsoft.Extensions.Options;
using NCrontab;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Host.Refresh;

/// <summary>
/// Standalone (no Functions host): runs the same sweep on the same six-field schedule in-process. Like the host's
/// timer, one run at a time and no catch-up storm: after a long run the next occurrence from "now" is awaited.
/// Several standalone instances may each sweep; the per-link lease keeps them from spending a token twice.
/// </summary>
public sealed partial class InProcessRefreshScheduler(
    ScheduledRun run,
    IOptions<RefreshOptions> options,
    TimeProvider time,
    ILogger<InProcessRefreshScheduler> logger) : BackgroundService
{
    public static CrontabSchedule Parse(string expression) =>
        CrontabSchedule.Parse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = Parse(options.Value.Schedule);
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var next = schedule.GetNextOccurrence(now);
            try
            {
                await Task.Delay(next - now, time, stoppingToken);
                await run.RunAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Note: a failed run (storage down) must not end the schedule; the next occurrence tries again.
                LogRunFailed(logger, ex.GetType().Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduled refresh sweep failed with {ExceptionType}; the next run will try again")]
    private static partial void LogRunFailed(ILogger logger, string exceptionType);
}
