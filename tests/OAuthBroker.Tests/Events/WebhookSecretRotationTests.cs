using System.Security.Cryptography;
using OAuthBroker.Events;
using OAuthBroker.Storage.Events;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// What docs/events.md says of an endpoint's secret: read from the vault (the local Key Vault endpoint, through the real
/// <c>SecretClient</c>) at delivery time and kept for a minute, so a rotation is in use within a minute, without a restart.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WebhookSecretRotationTests(BrokerEnvironmentFixture fixture)
{
    private string SeenSecret()
    {
        var secret = WebhookSecret.Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        fixture.SeenSecrets.Add(secret);
        return secret;
    }

    private static bool SignsLike(IReadOnlyList<WebhookSecret>? read, string value) =>
        read is not null && WebhookSecret.ParseAll(value) is { } expected && read.Count == expected.Count
        && WebhookSigner.Sign("evt_x", 1, [1], read) == WebhookSigner.Sign("evt_x", 1, [1], expected);

    [Fact]
    public async Task A_rotated_secret_is_in_use_within_a_minute_without_a_restart()
    {
        var (old, rotated) = (SeenSecret(), SeenSecret());
        var name = "webhook-r" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        await fixture.SecretClient.SetSecretAsync(name, old);
        var clock = new ManualClock();
        var secrets = new KeyVaultWebhookSecrets(fixture.SecretClient, clock);

        SignsLike(await secrets.GetAsync(name, default), old).ShouldBeTrue();
        await fixture.SecretClient.SetSecretAsync(name, rotated + " " + old);
        clock.Advance(TimeSpan.FromSeconds(30));
        SignsLike(await secrets.GetAsync(name, default), old).ShouldBeTrue("read once, kept for a minute");
        clock.Advance(TimeSpan.FromSeconds(31));

        SignsLike(await secrets.GetAsync(name, default), rotated + " " + old).ShouldBeTrue("the new value, read again after a minute");
    }
}
