using System.Globalization;
using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Host.Refresh;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Providers.WhiteBit;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Host.StartupChecks;

/// <summary>
/// A WhiteBIT provider with the Fast API Key flow keeps links pending between runs, each holding a refresh token that lives
/// <see cref="WhiteBitOptions.RefreshTokenLifetime"/> (600 s: openapi/oauth2.yaml, /oauth2/refresh_token, "Refresh token
/// duration is 600 seconds"). Each run renews it when the next run might come too late (<see cref="PendingRenewalHorizon"/>);
/// that only works while the next run's worst case (<see cref="PendingRenewalHorizon.Terms"/>) is shorter than the token's
/// life. Otherwise a freshly renewed pair can die before the next run acts, and the user's key with it: the app refuses to
/// start, naming the settings. Checked where the schedule runs (under the Functions host, or with the in-process scheduler);
/// an instance that runs no schedule (<c>Refresh:RunInProcess=false</c>) leaves it to the one that does.
/// </summary>
public static class PendingRenewalFit
{
    public static IEnumerable<string> Errors(IConfiguration configuration, IServiceProvider services)
    {
        var underHost = FunctionsHostIntegration.IsUnderFunctionsHost(configuration);
        if (!underHost && !configuration.GetValue("Refresh:RunInProcess", true))
        {
            yield break;
        }

        PendingRenewalHorizon.HorizonTerms? terms = null;
        foreach (var (prefix, options) in FastWhiteBitProviders(configuration))
        {
            terms ??= services.GetRequiredService<PendingRenewalHorizon>().Terms;
            if (terms.Total < options.RefreshTokenLifetime)
            {
                continue;
            }

            var cadence = services.GetRequiredService<IRunCadence>();
            var schedule = cadence is CrontabRunCadence crontab
                ? $"'{crontab.Schedule}' ({(underHost && !string.IsNullOrEmpty(configuration[RefreshScheduleSetting.Name]) ? RefreshScheduleSetting.Name : "Refresh:Schedule")})"
                : "the schedule";
            yield return $"{prefix}: a pending key of the Fast API Key flow cannot be kept alive between runs. Its refresh token lives {S(options.RefreshTokenLifetime)} "
                + $"({prefix}:RefreshTokenLifetime), but the next run may act on the link up to {S(terms.Total)} after a run renewed it: "
                + $"the next run starts within {S(terms.NextRunStarts)} (the longest gap of {schedule}, {S(cadence.LongestGap)}, or the end of a run that outlasts it, "
                + $"up to {S(terms.ThisRunMayLast)}: Refresh:SweepBudget, the in-run renewal retries (the gap less Refresh:SweepBudget), one renewal "
                + "(Refresh:PacingMaxWait, two KeyVault writes with their retries, 2 × Refresh:RefreshCallTimeout, Refresh:ClockAllowance) and Refresh:HousekeepingBudget), "
                + $"reaches the link within Refresh:SweepBudget ({S(terms.Reach)}), sends the refresh token within {S(terms.ToProvider)} "
                + $"(Refresh:PacingMaxWait, a KeyVault write, 2 × Refresh:RefreshCallTimeout), plus Refresh:ClockAllowance ({S(terms.Clock)}). "
                + $"Shorten the schedule's gap, Refresh:SweepBudget or Refresh:HousekeepingBudget until the sum is under {S(options.RefreshTokenLifetime)}.";
        }
    }

    /// <summary>
    /// The enabled providers of the <c>whitebit</c> dialect with the Fast API Key flow, as the catalogue picks them
    /// (<see cref="ProviderCatalog.Build"/>: <c>Dialect</c>, else the id when it names a dialect).
    /// </summary>
    private static IEnumerable<(string Prefix, WhiteBitOptions Options)> FastWhiteBitProviders(IConfiguration configuration)
    {
        foreach (var section in configuration.GetSection(ProviderCatalog.SectionName).GetChildren())
        {
            var dialect = section["Dialect"] ?? section.Key;
            if (string.Equals(section["Enabled"], "false", StringComparison.OrdinalIgnoreCase)
                || !string.Equals(dialect, WhiteBitDefaults.DialectName, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var options = new WhiteBitOptions();
            section.Bind(options);
            if (options.Flow == WhiteBitFlow.FastApiKey)
            {
                yield return ($"{ProviderCatalog.SectionName}:{section.Key}", options);
            }
        }
    }

    private static string S(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.#} s");
}
