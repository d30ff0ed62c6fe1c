using OAuthBroker.Host;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Flows;

/// <summary>Off a developer's machine the broker needs a configured sealing key: several instances must open what one sealed.</summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class SealingKeyStartupTests(BrokerEnvironmentFixture fixture)
{
    // The local vault's settings are refused in Azure (DevelopmentOnlySettings), so an "Azure" instance goes without them.
    private Microsoft.AspNetCore.Builder.WebApplication Instance(params string[] extra) =>
        BrokerApp.Create([.. fixture.Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal) && !a.StartsWith("--KeyVault:Local", StringComparison.Ordinal)), $"--urls=http://127.0.0.1:{FreePort.Next()}",
            "--Authentication:DevelopmentIdentity=false", .. extra]);

    [Fact]
    public async Task In_Azure_without_a_sealing_key_the_broker_refuses_to_start_and_with_one_it_starts()
    {
        await using (var keyless = Instance("--WEBSITE_SITE_NAME=func-broker"))
        {
            (await Should.ThrowAsync<Exception>(() => keyless.StartAsync())).ToString().ShouldContain("Sealing:KeyVaultSecretName (a Key Vault secret whose versions are the keys) or Sealing:Keys");
        }

        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var keyed = Instance("--WEBSITE_SITE_NAME=func-broker", $"--Sealing:Keys:k1={key}");
        await keyed.StartAsync();
        await keyed.StopAsync();
    }
}
