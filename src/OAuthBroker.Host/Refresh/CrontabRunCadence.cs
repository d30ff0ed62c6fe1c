using Microsoft.Extensions.Options;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Host.Refresh;

/// <summary>
/// <see cref="IRunCadence"/> of <c>Refresh:Schedule</c>, parsed the way the timer and the in-process scheduler parse it
/// (<see cref="InProcessRefreshScheduler.Parse"/>): the longest gap between consecutive occurrences over the coming
/// <see cref="Window"/>, which covers every weekly pattern (a weekday-only schedule's weekend gap included).
/// </summary>
public sealed class CrontabRunCadence(IOptions<RefreshOptions> options, TimeProvider time) : IRunCadence
{
    private static readonly TimeSpan Window = TimeSpan.FromDays(15);

    /// <summary>Enough occurrences to span the window at one a minute; a denser schedule's gap shows long before.</summary>
    private const int MaxOccurrences = 30_000;

    private readonly Lazy<TimeSpan> _longestGap = new(() => Measure(options.Value.Schedule, time.GetUtcNow().UtcDateTime));

    public TimeSpan LongestGap => _longestGap.Value;

    private static TimeSpan Measure(string schedule, DateTime from)
    {
        var occurrences = InProcessRefreshScheduler.Parse(schedule).GetNextOccurrences(from, from + Window).Take(MaxOccurrences).ToArray();
        if (occurrences.Length < 2)
        {
            // Less than twice in the window: at least the window apart.
            return Window;
        }

        var longest = TimeSpan.Zero;
        for (var i = 1; i < occurrences.Length; i++)
        {
            var gap = occurrences[i] - occurrences[i - 1];
            longest = gap > longest ? gap : longest;
        }

        return longest;
    }
}
