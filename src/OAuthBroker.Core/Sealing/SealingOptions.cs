using System.Buffers.Text;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Sealing;

/// <summary>
/// Keys for sealed broker state (section <c>Sealing</c>): in Azure, the versions of one Key Vault secret
/// (<see cref="KeyVaultSecretName"/>), rotated without a restart; elsewhere keys from configuration (<see cref="Keys"/>).
/// </summary>
public sealed partial class SealingOptions
{
    public const string SectionName = "Sealing";

    /// <summary>
    /// Name of the Key Vault secret (in <c>KeyVault:VaultUri</c>) whose enabled versions are the key ring: each version
    /// is a key (32 random bytes, base64) whose id is the version id. A new version seals once every instance has
    /// had time to load it; old versions open what they sealed until an hour after they were superseded, or until
    /// they are disabled (see the storage project's <c>KeyVaultSealingKeyRing</c>). Not together with <see cref="Keys"/>.
    /// </summary>
    public string? KeyVaultSecretName { get; set; }

    /// <summary>
    /// Key id → 32 random bytes, base64 or base64url (e.g. <c>openssl rand -base64 32</c>), read at start-up. Required
    /// unless <see cref="KeyVaultSecretName"/> is set, except on a developer's machine (loopback
    /// <c>Broker:PublicBaseUrl</c>, not in Azure), where an ephemeral key is made at start-up when none is set.
    /// </summary>
    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The id of the key that seals. Required when there is more than one key; default: the only key.</summary>
    public string? CurrentKeyId { get; set; }

    /// <summary>Set by the broker itself, never by configuration: no key is configured and an ephemeral one is allowed.</summary>
    internal bool EphemeralAllowed { get; set; }

    /// <summary>A key value: exactly 32 bytes in base64 or base64url.</summary>
    public static bool TryDecode(string value, out byte[] material)
    {
        material = [];
        var text = value.Trim();
        try
        {
            material = text.Contains('+', StringComparison.Ordinal) || text.Contains('/', StringComparison.Ordinal) || text.EndsWith('=')
                ? Convert.FromBase64String(text)
                : Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }

        return material.Length == SealingKey.Length;
    }

    internal sealed class Validator : IValidateOptions<SealingOptions>
    {
        public ValidateOptionsResult Validate(string? name, SealingOptions options)
        {
            var errors = new List<string>();
            if (options.KeyVaultSecretName is { } secretName)
            {
                if (!SecretName().IsMatch(secretName))
                {
                    errors.Add($"{SectionName}:KeyVaultSecretName must be a Key Vault secret name (1–127 letters, digits or '-').");
                }

                if (options.Keys.Count > 0 || options.CurrentKeyId is not null)
                {
                    errors.Add($"{SectionName}:KeyVaultSecretName and {SectionName}:Keys (or CurrentKeyId) exclude each other: the ring comes from one place.");
                }
            }
            else if (options.Keys.Count == 0 && !options.EphemeralAllowed)
            {
                errors.Add($"{SectionName}:KeyVaultSecretName (a Key Vault secret whose versions are the keys) or {SectionName}:Keys (id → 32 random bytes, base64) is required. " +
                    "Only a developer's machine (loopback Broker:PublicBaseUrl, not in Azure) may run without one.");
            }

            foreach (var (id, value) in options.Keys)
            {
                if (!SealingKeyIds.IsValid(id))
                {
                    errors.Add($"{SectionName}:Keys: the id '{Shorten(id)}' must be 1–32 letters, digits or '-'.");
                }

                if (!TryDecode(value ?? "", out _))
                {
                    // Note: the value is a secret; the message names the key, never its content.
                    errors.Add($"{SectionName}:Keys:{Shorten(id)} must be exactly {SealingKey.Length} bytes in base64 or base64url (an unresolved Key Vault reference is not).");
                }
            }

            if (options.CurrentKeyId is { } current && !options.Keys.ContainsKey(current))
            {
                errors.Add($"{SectionName}:CurrentKeyId names no key in {SectionName}:Keys.");
            }

            if (options.Keys.Count > 1 && options.CurrentKeyId is null)
            {
                errors.Add($"{SectionName}:CurrentKeyId is required when {SectionName}:Keys holds more than one key.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }

        private static string Shorten(string id) => id.Length <= 32 ? id : id[..32] + "…";
    }

    /// <summary>Key Vault object names: 1–127 characters, 0-9, a-z, A-Z and '-' (Key Vault, "About keys, secrets, and certificates": object identifiers).</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial System.Text.RegularExpressions.Regex SecretName();
}
