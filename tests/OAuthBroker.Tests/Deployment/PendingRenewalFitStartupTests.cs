using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OAuthBroker.Host;
using OAuthBroker.Host.StartupChecks;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// The app refuses to start when a WhiteBIT provider with the Fast API Key flow is configured and the next run's worst case
/// (PendingRenewalHorizon) does not fit inside WhiteBIT's 600 s refresh token: a pending key would die between runs.
/// </summary>
public sealed class PendingRenewalFitStartupTests
{
    private static readonly string[] Valid =
    [
        "--Broker:PublicBaseUrl=https://broker.example.com",
        "--Storage:ConnectionString=UseDevelopmentStorage=true",
        "--KeyVault:VaultUri=https://127.0.0.1:8443/",
        "--urls=http://127.0.0.1:0",
        "--Sealing:Keys:k1=" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    ];

    private static readonly string[] FastWhiteBit = ["--Providers:whitebit:ClientId=client", "--Providers:whitebit:ClientSecret=whitebit-client-secret-0123"];

    private static readonly string[] FiveMinutes = ["--Refresh:Schedule=0 */5 * * * *"];

    [Fact]
    public async Task A_five_minute_schedule_with_a_Fast_WhiteBIT_provider_stops_the_app_naming_the_settings()
    {
        await using var app = BrokerApp.Create([.. Valid, .. FastWhiteBit, .. FiveMinutes]);
        var error = (await Should.ThrowAsync<Exception>(() => app.StartAsync())).ToString();

        error.ShouldContain("Providers:whitebit: a pending key of the Fast API Key flow cannot be kept alive between runs");
        error.ShouldContain("Its refresh token lives 600 s (Providers:whitebit:RefreshTokenLifetime)");
        // Standalone (the in-process scheduler): the run may last 45 + 255 + 146 + 30 = 476 s, then a whole 300 s gap;
        // 776 + 45 + 103 + 5 = 929 s.
        error.ShouldContain("up to 929 s after a run renewed it");
        error.ShouldContain("the next run starts within 776 s");
        error.ShouldContain("'0 */5 * * * *' (Refresh:Schedule)");
        error.ShouldContain("Refresh:SweepBudget (45 s)");
        error.ShouldContain("Refresh:HousekeepingBudget");
        error.ShouldNotContain("whitebit-client-secret-0123", customMessage: "names the settings, not their values");
    }

    /// <summary>The defaults fit (every minute, 45 s sweep, 30 s housekeeping: 449 s standalone, PendingRenewalHorizonTests).</summary>
    [Fact]
    public void The_defaults_pass_the_check()
    {
        using var app = BrokerApp.Create([.. Valid, .. FastWhiteBit]);
        Should.NotThrow(() => app.Services.GetRequiredService<IOptions<SettingsChecks>>().Value);
    }

    /// <summary>
    /// Under the Functions host the timer's schedule counts (<c>REFRESH_SCHEDULE</c>), not the app's own: a five-minute timer
    /// does not fit, whatever <c>Refresh:Schedule</c> says (here the default, which does).
    /// </summary>
    [Fact]
    public void Under_the_Functions_host_the_timers_schedule_is_checked()
    {
        using var app = BrokerApp.Create([.. Valid, .. FastWhiteBit,
            "--FUNCTIONS_CUSTOMHANDLER_PORT=" + FreePort.Next(), "--REFRESH_SCHEDULE=0 */5 * * * *"]);
        var error = Should.Throw<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<SettingsChecks>>().Value).Message;
        error.ShouldContain("'0 */5 * * * *' (REFRESH_SCHEDULE)");
    }

    [Theory]
    [InlineData("--Providers:whitebit:Flow=Classic")]
    [InlineData("--Providers:whitebit:Enabled=false")]
    [InlineData("--Refresh:RunInProcess=false")]
    public void Without_a_Fast_WhiteBIT_provider_or_a_schedule_run_here_there_is_nothing_to_check(string setting)
    {
        using var app = BrokerApp.Create([.. Valid, .. FastWhiteBit, setting]);
        Should.NotThrow(() => app.Services.GetRequiredService<IOptions<SettingsChecks>>().Value);
    }
}
