using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OAuthBroker.Sealing;

namespace OAuthBroker.Tests.Flows;

/// <summary>
/// The key ring and the sealer: a sealed value opens only with a key still in the ring, for the purpose and context it
/// was sealed for, unaltered; rotation keeps old values readable until their key leaves the ring; configuration that
/// could not seal is refused at start-up.
/// </summary>
public sealed class SealingTests
{
    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static ConfiguredSealingKeyRing Ring(Dictionary<string, string> keys, string? current = null) =>
        new(Options.Create(new SealingOptions { Keys = keys, CurrentKeyId = current }), NullLogger<ConfiguredSealingKeyRing>.Instance);

    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("{\"apiSecret\":\"s3cr3t\"}");

    [Fact]
    public async Task A_sealed_value_opens_only_for_its_purpose_and_context_and_unaltered()
    {
        var sealer = new Sealer(Ring(new() { ["k1"] = NewKey() }));
        var sealedValue = await sealer.SealAsync("pending-link", Secret, "row-1|alice", default);

        sealedValue.ShouldStartWith("v1.k1.");
        sealedValue.ShouldNotContain("s3cr3t");
        (await sealer.UnsealAsync("pending-link", sealedValue, "row-1|alice", default)).ShouldBe(Secret);

        (await sealer.UnsealAsync("pending-link", sealedValue, "row-1|mallory", default)).ShouldBeNull("another user's record");
        (await sealer.UnsealAsync("flow", sealedValue, "row-1|alice", default)).ShouldBeNull("another purpose");
        var tampered = sealedValue[..^3] + (sealedValue[^3] == 'A' ? 'B' : 'A') + sealedValue[^2..];
        (await sealer.UnsealAsync("pending-link", tampered, "row-1|alice", default)).ShouldBeNull("altered");
        (await sealer.UnsealAsync("pending-link", "v1.k1.!!", "row-1|alice", default)).ShouldBeNull("garbage");
        (await sealer.UnsealAsync("pending-link", sealedValue.Replace("v1.k1.", "v1.k9.", StringComparison.Ordinal), "row-1|alice", default)).ShouldBeNull("unknown key");
        (await sealer.SealAsync("pending-link", Secret, "row-1|alice", default)).ShouldNotBe(sealedValue, "a fresh nonce every time");
        sealedValue.Length.ShouldBe(Sealer.SealedLength(Secret.Length, "k1".Length));
    }

    [Fact]
    public async Task Rotation_keeps_old_values_readable_until_the_old_key_leaves_the_ring()
    {
        var (k1, k2) = (NewKey(), NewKey());
        var old = await new Sealer(Ring(new() { ["k1"] = k1 })).SealAsync("pending-link", Secret, "c", default);

        var rotated = new Sealer(Ring(new() { ["k1"] = k1, ["k2"] = k2 }, current: "k2"));
        (await rotated.SealAsync("pending-link", Secret, "c", default)).ShouldStartWith("v1.k2.");
        (await rotated.UnsealAsync("pending-link", old, "c", default)).ShouldBe(Secret);

        (await new Sealer(Ring(new() { ["k2"] = k2 })).UnsealAsync("pending-link", old, "c", default)).ShouldBeNull();
    }

    [Fact]
    public void Configuration_that_cannot_seal_is_refused_at_start_up()
    {
        var validator = new SealingOptions.Validator();
        validator.Validate(null, new SealingOptions()).Failed.ShouldBeTrue("no key, and not a developer's machine");
        validator.Validate(null, new SealingOptions { EphemeralAllowed = true }).Succeeded.ShouldBeTrue();
        validator.Validate(null, new SealingOptions { Keys = new() { ["k1"] = Convert.ToBase64String(new byte[16]) } }).Failed.ShouldBeTrue("128-bit key");
        validator.Validate(null, new SealingOptions { Keys = new() { ["k1"] = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)" } }).Failed.ShouldBeTrue("unresolved reference");
        validator.Validate(null, new SealingOptions { Keys = new() { ["k.1"] = NewKey() } }).Failed.ShouldBeTrue("'.' separates the sealed format");
        validator.Validate(null, new SealingOptions { Keys = new() { ["k1"] = NewKey(), ["k2"] = NewKey() } }).Failed.ShouldBeTrue("which one seals?");
        validator.Validate(null, new SealingOptions { Keys = new() { ["k1"] = NewKey() }, CurrentKeyId = "k2" }).Failed.ShouldBeTrue();
        validator.Validate(null, new SealingOptions { Keys = new() { ["k1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_') } }).Succeeded.ShouldBeTrue("base64url too");
        validator.Validate(null, new SealingOptions { KeyVaultSecretName = "sealing-key" }).Succeeded.ShouldBeTrue("keys from Key Vault");
        validator.Validate(null, new SealingOptions { KeyVaultSecretName = "sealing_key" }).Failed.ShouldBeTrue("not a Key Vault name");
        validator.Validate(null, new SealingOptions { KeyVaultSecretName = "sealing-key", Keys = new() { ["k1"] = NewKey() } }).Failed.ShouldBeTrue("one source of keys");

        var failure = validator.Validate(null, new SealingOptions { Keys = new() { ["k1"] = "not-a-key-but-a-secret-value" } });
        failure.FailureMessage!.ShouldNotContain("not-a-key-but-a-secret-value", customMessage: "a start-up error never prints a key");
    }

    [Fact]
    public async Task Without_a_configured_key_a_developer_machine_gets_an_ephemeral_one()
    {
        var ring = Ring(new());
        ring.IsEphemeral.ShouldBeTrue();
        var sealer = new Sealer(ring);
        (await sealer.UnsealAsync("p", await sealer.SealAsync("p", Secret, "c", default), "c", default)).ShouldNotBeNull();
        (await new Sealer(Ring(new())).UnsealAsync("p", await sealer.SealAsync("p", Secret, "c", default), "c", default)).ShouldBeNull("another process, another key");
    }
}
