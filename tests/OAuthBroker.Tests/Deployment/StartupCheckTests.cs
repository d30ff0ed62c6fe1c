using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OAuthBroker.Host;
using OAuthBroker.Refresh;

namespace OAuthBroker.Tests.Deployment;

/// <summary>What stops the app before it serves anyone, and the schedule setting it shares with the host.</summary>
public sealed class StartupCheckTests
{
    private static readonly string[] Valid =
    [
        "--Broker:PublicBaseUrl=https://broker.example.com",
        "--Storage:ConnectionString=UseDevelopmentStorage=true",
        // Loopback, so the vault options themselves accept the local endpoint's settings and only the environment refuses them.
        "--KeyVault:VaultUri=https://127.0.0.1:8443/",
        "--urls=http://127.0.0.1:0",
        "--Sealing:Keys:k1=" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    ];

    /// <summary>Starting fails with the options errors listed (the whole message, whatever else is missing here).</summary>
    private static async Task<string> StartFailureAsync(params string[] args)
    {
        await using var app = BrokerApp.Create(args);
        var failure = await Should.ThrowAsync<Exception>(() => app.StartAsync());
        return failure.ToString();
    }

    [Fact]
    public async Task A_Key_Vault_reference_the_platform_could_not_resolve_stops_the_app_naming_each_setting()
    {
        var error = await StartFailureAsync([.. Valid,
            "--Backends:platform:Key=@Microsoft.KeyVault(VaultName=kv-example;SecretName=backend-platform-key)",
            "--Providers:bybit:ClientId=client",
            "--Providers:bybit:ClientSecret=@Microsoft.KeyVault(VaultName=kv-example;SecretName=provider-bybit-client-secret)"]);
        error.ShouldContain("Key Vault references the platform could not resolve");
        error.ShouldContain("Backends:platform:Key");
        error.ShouldContain("Providers:bybit:ClientSecret");
        error.ShouldNotContain("SecretName=", customMessage: "names the settings, not their values");
        error.ShouldContain("restart");
    }

    [Theory]
    [InlineData("--KeyVault:LocalAccessToken=local-development-vault-token", "KeyVault:LocalAccessToken")]
    [InlineData("--KeyVault:LocalCertificatePath={existing file}", "KeyVault:LocalCertificatePath")]
    [InlineData("--Backends:platform:Key=local-development-backend-key-change-me-0123456789", "Backends:platform:Key")]
    public async Task Development_only_settings_stop_the_app_in_any_other_environment(string setting, string named)
    {
        var error = await StartFailureAsync([.. Valid, "--environment=Production", setting.Replace("{existing file}", typeof(StartupCheckTests).Assembly.Location, StringComparison.Ordinal)]);
        error.ShouldContain($"Not allowed in the Production environment: {named}");
    }

    /// <summary>
    /// <c>local.settings.example.json</c> sets <c>ASPNETCORE_ENVIRONMENT=Development</c>; copied into the app's settings in
    /// Azure it must not let the published key or the local vault's settings in. The platform's own variables decide.
    /// </summary>
    [Theory]
    [InlineData("--WEBSITE_SITE_NAME=func-broker", "--KeyVault:LocalAccessToken=local-development-vault-token", "KeyVault:LocalAccessToken")]
    [InlineData("--WEBSITE_INSTANCE_ID=2b7c0ffee", "--Backends:platform:Key=local-development-backend-key-change-me-0123456789", "Backends:platform:Key")]
    [InlineData("--WEBSITE_POD_NAME=func-broker-7d9", "--KeyVault:LocalCertificatePath={existing file}", "KeyVault:LocalCertificatePath")]
    public async Task Development_only_settings_stop_the_app_in_Azure_even_when_the_environment_says_Development(string azure, string setting, string named)
    {
        var error = await StartFailureAsync([.. Valid, "--environment=Development", azure, setting.Replace("{existing file}", typeof(StartupCheckTests).Assembly.Location, StringComparison.Ordinal)]);
        error.ShouldContain("Not allowed in Azure");
        error.ShouldContain(named);
    }

    [Fact]
    public async Task The_flat_schedule_setting_the_host_resolves_is_the_apps_schedule_when_Refresh_Schedule_is_unset()
    {
        await using var app = BrokerApp.Create([.. Valid, "--REFRESH_SCHEDULE=0 0 3 * * *"]);
        app.Services.GetRequiredService<IOptions<RefreshOptions>>().Value.Schedule.ShouldBe("0 0 3 * * *");

        await using var both = BrokerApp.Create([.. Valid, "--REFRESH_SCHEDULE=0 0 3 * * *", "--Refresh:Schedule=0 */10 * * * *"]);
        both.Services.GetRequiredService<IOptions<RefreshOptions>>().Value.Schedule.ShouldBe("0 */10 * * * *", "the explicit setting wins");
    }
}
