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
        "--KeyVault:VaultUri=https://kv-example.vault.azure.net/",
    ];

    [Fact]
    public void A_Key_Vault_reference_the_platform_could_not_resolve_stops_the_app_naming_each_setting()
    {
        var error = Should.Throw<InvalidOperationException>(() => BrokerApp.Create([.. Valid,
            "--Backends:platform:Key=@Microsoft.KeyVault(VaultName=kv-example;SecretName=backend-platform-key)",
            "--Providers:bybit:ClientId=client",
            "--Providers:bybit:ClientSecret=@Microsoft.KeyVault(VaultName=kv-example;SecretName=provider-bybit-client-secret)"]));
        error.Message.ShouldContain("Backends:platform:Key");
        error.Message.ShouldContain("Providers:bybit:ClientSecret");
        error.Message.ShouldNotContain("SecretName=", customMessage: "names the settings, not their values");
        error.Message.ShouldContain("restart");
    }

    [Theory]
    [InlineData("--KeyVault:LocalAccessToken=local-development-vault-token", "KeyVault:LocalAccessToken")]
    [InlineData("--KeyVault:LocalCertificatePath=/tmp/certificate.pem", "KeyVault:LocalCertificatePath")]
    [InlineData("--Backends:platform:Key=local-development-backend-key-change-me-0123456789", "Backends:platform:Key")]
    public void Development_only_settings_stop_the_app_in_any_other_environment(string setting, string named)
    {
        var error = Should.Throw<InvalidOperationException>(() => BrokerApp.Create([.. Valid, "--environment=Production", setting]));
        error.Message.ShouldContain(named);
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
