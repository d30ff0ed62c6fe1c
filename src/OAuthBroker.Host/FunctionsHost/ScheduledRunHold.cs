using OAuthBroker.Links;
using OAuthBroker.Refresh;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// How long a timer run holds its occurrence's claim (<see cref="OAuthBroker.Scheduling.IScheduledRunClaims"/>): as long
/// as the run can last (<see cref="PendingRenewalHorizon.HorizonTerms.ThisRunMayLast"/>: its sweep budget, the in-run
/// renewal retries, the last renewal under its lease, the housekeeping budget), plus the clock allowance, since the
/// instance that may take the claim over reads the storage clock its own way. A run still going is never doubled; one
/// that died is not waited for past that.
/// </summary>
public static class ScheduledRunHold
{
    public static TimeSpan Of(PendingRenewalHorizon.HorizonTerms terms, RefreshOptions options) => terms.ThisRunMayLast + options.ClockAllowance;
}
