using Microsoft.Extensions.Options;
using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Host.Refresh;

/// <summary>
/// <see cref="IRunCadence"/> of the schedule this process runs on, parsed the way the timer and the in-process scheduler
/// parse it (<see cref="InProcessRefreshScheduler.Parse"/>): under the Functions host the timer's
/// (<see cref="RefreshScheduleSetting.Name"/> when set, as <see cref="RefreshTokensFunction"/> reads it), otherwise
/// <c>Refresh:Schedule</c>. The gaps are measured over the coming five years (<see cref="ScheduleGaps"/>), once.
/// </summary>
public sealed class CrontabRunCadence : IRunCadence
{
    private readonly Lazy<ScheduleGaps> _gaps;

    public CrontabRunCadence(IOptions<RefreshOptions> options, IConfiguration configuration, TimeProvider time)
    {
        var underHost = FunctionsHostIntegration.IsUnderFunctionsHost(configuration);
        Schedule = underHost && configuration[RefreshScheduleSetting.Name] is { Length: > 0 } timer ? timer : options.Value.Schedule;
        UnderFunctionsTimer = underHost;
        _gaps = new(() => ScheduleGaps.Measure(InProcessRefreshScheduler.Parse(Schedule), time.GetUtcNow().UtcDateTime));
    }

    /// <summary>The six-field expression the runs follow.</summary>
    public string Schedule { get; }

    /// <summary>The Functions timer starts the runs (otherwise the in-process scheduler does).</summary>
    public bool UnderFunctionsTimer { get; }

    public TimeSpan LongestGap => _gaps.Value.Longest;

    public TimeSpan ShortestGap => _gaps.Value.Shortest;

    /// <summary>
    /// Runs never overlap under either scheduler; what differs is the occurrence a long run is followed by.
    /// <list type="bullet">
    /// <item>The Functions timer computes the next occurrence from the invocation's <b>start</b>, and after the invocation
    /// starts its timer for that occurrence, "an immediate invocation" when it has already passed (azure-webjobs-sdk-extensions
    /// <c>src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs</c>: <c>InvokeJobFunction</c> sets
    /// <c>Next = _schedule.GetNextOccurrence(adjustedInvocationTime)</c>; <c>HandleTimerEvent</c>'s <c>finally</c> calls
    /// <c>StartTimer(DateTime.Now)</c>; <c>GetNextTimerInterval</c> turns a negative interval into one tick). The same holds
    /// for the one catch-up run at start-up (<c>IsPastDue</c>): its next occurrence counts from its own start. So the next
    /// run starts at that occurrence (within one gap of any moment of this run) or when this run ends, whichever is later.</item>
    /// <item>The in-process scheduler waits for the first occurrence after the run ended (<see cref="InProcessRefreshScheduler"/>):
    /// a run that can reach the next occurrence makes the next run come up to a whole gap after its end; one that always
    /// ends before the next occurrence (it lasts less than the shortest gap, and runs start at occurrences) does not delay it.</item>
    /// </list>
    /// </summary>
    public TimeSpan NextRunStartsWithin(TimeSpan thisRunMayLast)
    {
        if (UnderFunctionsTimer)
        {
            return thisRunMayLast > LongestGap ? thisRunMayLast : LongestGap;
        }

        return thisRunMayLast < ShortestGap ? LongestGap : thisRunMayLast + LongestGap;
    }
}
