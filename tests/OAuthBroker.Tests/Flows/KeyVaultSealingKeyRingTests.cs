using System.Security.Cryptography;
using System.Text;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OAuthBroker.Errors;
using OAuthBroker.Sealing;
using OAuthBroker.Storage.Sealing;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Flows;

/// <summary>
/// The key ring from Key Vault, through the real <see cref="SecretClient"/> against the local HTTPS vault: versions are
/// keys, a new version is rotated in without a restart (opening at once, sealing after the activation delay), an old one
/// keeps opening what it sealed until it retires, a disabled one is withdrawn at the next refresh, and a key another
/// instance already uses is looked up on demand.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class KeyVaultSealingKeyRingTests(BrokerEnvironmentFixture fixture)
{
    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("flow");

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private KeyVaultSealingKeyRing Ring(string secretName, ManualClock clock) =>
        new(fixture.SecretClient, Options.Create(new SealingOptions { KeyVaultSecretName = secretName }), clock, NullLogger<KeyVaultSealingKeyRing>.Instance);

    /// <summary>
    /// A new version, a second after the previous one: Key Vault stamps <c>created</c> in whole seconds (SecretAttributes,
    /// Unix time), and two versions of one second are ordered by id, which would make "the older one" a coin toss here.
    /// </summary>
    private async Task<string> AddVersionAsync(string secretName)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        return (await fixture.SecretClient.SetSecretAsync(secretName, NewKey())).Value.Properties.Version;
    }

    /// <summary>
    /// A ring loaded from a fresh secret of one version, a value it sealed, and the clock moved on to its next refresh:
    /// the start of the tests where the vault then fails.
    /// </summary>
    private async Task<(KeyVaultSealingKeyRing Ring, Sealer Sealer, ManualClock Clock, string SealedBefore)> LoadedRingDueForRefreshAsync()
    {
        var name = "sealing-test-" + Guid.NewGuid().ToString("N")[..12];
        var clock = new ManualClock();
        await AddVersionAsync(name);
        var ring = Ring(name, clock);
        var sealer = new Sealer(ring);
        var sealedBefore = await sealer.SealAsync("flow", Plaintext, "c", default);
        clock.Advance(SealingKeySchedule.RefreshInterval);
        return (ring, sealer, clock, sealedBefore);
    }

    [Fact]
    public async Task A_new_version_rotates_in_without_a_restart_and_the_old_one_opens_what_it_sealed_until_it_retires()
    {
        var name = "sealing-test-" + Guid.NewGuid().ToString("N")[..12];
        var clock = new ManualClock();
        var v1 = await AddVersionAsync(name);
        var ring = Ring(name, clock);
        var sealer = new Sealer(ring);

        var sealedByV1 = await sealer.SealAsync("flow", Plaintext, "c", default);
        sealedByV1.ShouldStartWith($"v1.{v1}.", customMessage: "the key id is the version id");

        var v2 = await AddVersionAsync(name);
        clock.Advance(SealingKeySchedule.RefreshInterval);
        await ring.RefreshNowAsync(default);
        var (ids, current) = await ring.DescribeAsync(default);
        ids.ShouldBe([v1, v2], ignoreOrder: true);
        current.ShouldBe(v1, "a new version opens at once but seals only once every instance has had time to load it");

        clock.Advance(SealingKeySchedule.ActivationDelay);
        await ring.RefreshNowAsync(default);
        (await sealer.SealAsync("flow", Plaintext, "c", default)).ShouldStartWith($"v1.{v2}.");
        (await sealer.UnsealAsync("flow", sealedByV1, "c", default)).ShouldBe(Plaintext, "what the old key sealed still opens");

        clock.Advance(SealingKeySchedule.RetireAfter);
        await ring.RefreshNowAsync(default);
        (await ring.DescribeAsync(default)).Ids.ShouldBe([v2]);
        (await sealer.UnsealAsync("flow", sealedByV1, "c", default)).ShouldBeNull("an hour after it was superseded nothing it sealed is valid any more");
    }

    [Fact]
    public async Task A_disabled_version_is_withdrawn_at_the_next_refresh()
    {
        var name = "sealing-test-" + Guid.NewGuid().ToString("N")[..12];
        var clock = new ManualClock();
        var v1 = await AddVersionAsync(name);
        var ring = Ring(name, clock);
        var sealer = new Sealer(ring);
        var sealedByV1 = await sealer.SealAsync("flow", Plaintext, "c", default);

        // The operator suspects v1: a new version, and v1 disabled (az keyvault secret set-attributes --enabled false).
        var v2 = await AddVersionAsync(name);
        var v1Properties = (await fixture.SecretClient.GetSecretAsync(name, v1)).Value.Properties;
        v1Properties.Enabled = false;
        await fixture.SecretClient.UpdateSecretPropertiesAsync(v1Properties);

        (await sealer.UnsealAsync("flow", sealedByV1, "c", default)).ShouldNotBeNull("until the next refresh the loaded ring serves");
        clock.Advance(SealingKeySchedule.RefreshInterval);
        await ring.RefreshNowAsync(default);
        (await sealer.UnsealAsync("flow", sealedByV1, "c", default)).ShouldBeNull();
        (await sealer.SealAsync("flow", Plaintext, "c", default)).ShouldStartWith($"v1.{v2}.", customMessage: "with every older key disabled, the new one seals at once");
    }

    [Fact]
    public async Task A_key_another_instance_already_uses_is_looked_up_on_demand_but_not_for_every_made_up_id()
    {
        var name = "sealing-test-" + Guid.NewGuid().ToString("N")[..12];
        var clock = new ManualClock();
        var v1 = await AddVersionAsync(name);
        var here = Ring(name, clock);
        await here.RefreshNowAsync(default);

        // An emergency rotation: v2 added, v1 disabled. An instance that loads now seals with v2 at once; this one has
        // not refreshed yet.
        var v2 = await AddVersionAsync(name);
        var v1Properties = (await fixture.SecretClient.GetSecretAsync(name, v1)).Value.Properties;
        v1Properties.Enabled = false;
        await fixture.SecretClient.UpdateSecretPropertiesAsync(v1Properties);
        var sealedElsewhere = await new Sealer(Ring(name, new ManualClock())).SealAsync("flow", Plaintext, "c", default);
        sealedElsewhere.ShouldStartWith($"v1.{v2}.");

        var sealer = new Sealer(here);
        (await sealer.UnsealAsync("flow", sealedElsewhere, "c", default)).ShouldBeNull("loaded moments ago: an unknown id is not worth a vault round trip");
        clock.Advance(KeyVaultSealingKeyRing.UnknownKeyLookupSpacing);
        (await sealer.UnsealAsync("flow", sealedElsewhere, "c", default)).ShouldBe(Plaintext, "the ring looked again and found the other instance's key");
    }

    /// <summary>
    /// flow-review-2 #2: the spacing of unknown-id lookups ran from the last successful load, so after one failed refresh
    /// every value with a made-up key id (a forged flow cookie on an anonymous callback) sent a LIST to the vault that
    /// was already failing. Now it runs from the last attempt, whatever its outcome.
    /// </summary>
    [Fact]
    public async Task After_a_failed_refresh_made_up_key_ids_still_cause_no_vault_traffic_until_the_spacing_has_passed()
    {
        var (ring, sealer, clock, sealedBefore) = await LoadedRingDueForRefreshAsync();
        fixture.Environment.KeyVault.FailNextRequests(1000);
        try
        {
            await ring.RefreshNowAsync(default);
            var afterFailedRefresh = fixture.Environment.KeyVault.FailuresLeft;
            afterFailedRefresh.ShouldBeLessThan(1000, "the refresh did reach the (failing) vault");
            for (var i = 0; i < 5; i++)
            {
                (await sealer.UnsealAsync("flow", $"v1.forged{i}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "c", default)).ShouldBeNull();
            }

            fixture.Environment.KeyVault.FailuresLeft.ShouldBe(afterFailedRefresh, "no vault request for a made-up key id within the spacing of the failed attempt");
            (await sealer.UnsealAsync("flow", sealedBefore, "c", default)).ShouldBe(Plaintext, "the loaded ring keeps serving");

            clock.Advance(KeyVaultSealingKeyRing.UnknownKeyLookupSpacing);
            (await sealer.UnsealAsync("flow", "v1.forged9.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "c", default)).ShouldBeNull();

            // The ring looks again once the spacing has passed; the load runs in the background (stale while revalidating),
            // so wait for its request to reach the vault rather than read the count at once.
            for (var i = 0; i < 300 && fixture.Environment.KeyVault.FailuresLeft == afterFailedRefresh; i++)
            {
                await Task.Delay(100);
            }

            fixture.Environment.KeyVault.FailuresLeft.ShouldBeLessThan(afterFailedRefresh, "once the spacing has passed, the ring looks again");
        }
        finally
        {
            fixture.Environment.KeyVault.FailNextRequests(0);
        }
    }

    [Fact]
    public async Task Without_the_secret_the_ring_cannot_seal_and_says_the_vault_is_unavailable()
    {
        var ring = Ring("sealing-test-missing-" + Guid.NewGuid().ToString("N")[..8], new ManualClock());
        var failure = await Should.ThrowAsync<VaultUnavailableException>(async () => await new Sealer(ring).SealAsync("flow", Plaintext, "c", default));
        failure.Message.ShouldContain("does not exist");
    }

    [Fact]
    public async Task A_vault_outage_after_the_first_load_keeps_the_loaded_ring()
    {
        var (ring, sealer, _, sealedBefore) = await LoadedRingDueForRefreshAsync();
        fixture.Environment.KeyVault.FailNextRequests(100);
        try
        {
            await ring.RefreshNowAsync(default);
            (await sealer.UnsealAsync("flow", sealedBefore, "c", default)).ShouldBe(Plaintext);
            (await sealer.SealAsync("flow", Plaintext, "c", default)).ShouldNotBeNull();
        }
        finally
        {
            fixture.Environment.KeyVault.FailNextRequests(0);
        }
    }

    [Fact]
    public async Task An_instance_whose_sealing_secret_is_missing_answers_authorize_with_vault_unavailable_and_starts_nothing()
    {
        var port = LocalEnvironment.FreePort.Next();
        var instance = await fixture.Environment.StartBrokerInstanceAsync(port, "--Sealing:KeyVaultSecretName=sealing-key-never-created");
        try
        {
            using var browser = fixture.NewBrowser();
            using var authorize = await browser.Http.GetAsync(new Uri($"http://127.0.0.1:{port}/api/oauth/bybit/authorize"));
            authorize.StatusCode.ShouldBe(System.Net.HttpStatusCode.ServiceUnavailable);
            (await authorize.Content.ReadAsStringAsync()).ShouldContain("vault_unavailable");
            authorize.Headers.Location.ShouldBeNull();
        }
        finally
        {
            await instance.StopAsync();
            await instance.DisposeAsync();
        }
    }
}
