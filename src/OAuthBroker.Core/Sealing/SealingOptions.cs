using System.Buffers.Text;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Sealing;

/// <summary>
/// Keys for sealed broker state (section <c>Sealing</c>). In Azure each key is an app setting holding a Key Vault
/// reference, e.g. <c>Sealing__Keys__k1=@Microsoft.KeyVault(VaultName=…;SecretName=sealing-key-k1)</c>.
/// </summary>
public sealed class SealingOptions
{
    public const string SectionName = "Sealing";

    /// <summary>
    /// Key id → 32 random bytes, base64 or base64url (e.g. <c>openssl rand -base64 32</c>). Required, except on a
    /// developer's machine (loopback <c>Broker:PublicBaseUrl</c>, not in Azure), where an ephemeral key is made at
    /// start-up when none is set.
    /// </summary>
    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The id of the key that seals. Required when there is more than one key; default: the only key.</summary>
    public string? CurrentKeyId { get; set; }

    /// <summary>Set by the broker itself, never by configuration: no key is configured and an ephemeral one is allowed.</summary>
    internal bool EphemeralAllowed { get; set; }

    internal static bool TryDecode(string value, out byte[] material)
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
            if (options.Keys.Count == 0 && !options.EphemeralAllowed)
            {
                errors.Add($"{SectionName}:Keys needs at least one key (id → 32 random bytes, base64), e.g. {SectionName}__Keys__k1 as a Key Vault reference. " +
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
}
