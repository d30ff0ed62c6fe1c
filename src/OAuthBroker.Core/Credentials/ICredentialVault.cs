using System.Buffers.Text;
using System.Security.Cryptography;
using OAuthBroker.Providers;

namespace OAuthBroker.Credentials;

/// <summary>
/// Where provider credentials live. One secret per link holds the whole credential (tokens and API key) as
/// one document, so a refresh is one write and a reader never sees half of an update.
/// </summary>
public interface ICredentialVault
{
    /// <summary>Writes a new version of the credential under <paramref name="name"/>.</summary>
    Task WriteAsync(string name, VaultedCredential credential, CT ct);

    /// <summary>The current version, or null when the secret does not exist (or was deleted).</summary>
    Task<VaultedCredential?> ReadAsync(string name, CT ct);

    /// <summary>Deletes the secret; succeeds when it is already gone. The name must never be used again.</summary>
    Task DeleteAsync(string name, CT ct);
}

/// <summary>The vaulted document: the provider credential plus what it belongs to.</summary>
public sealed record VaultedCredential(string ProviderId, ProviderCredential Credential, DateTimeOffset StoredAt)
{
    public override string ToString() => $"VaultedCredential {{ ProviderId = {ProviderId}, StoredAt = {StoredAt:O} }}";
}

/// <summary>Names for vault secrets.</summary>
public static class CredentialNames
{
    public const string Prefix = "cred-";

    /// <summary>
    /// A fresh random name (<c>cred-</c> + 32 hex digits): fits Key Vault's <c>[0-9A-Za-z-]{1,127}</c>, holds no
    /// personal data, and is never reused, because a soft-deleted name stays blocked for up to 90 days.
    /// </summary>
    public static string New() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 127 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>Not a name; a short non-reversible tag for correlating logs about one credential.</summary>
    public static string LogTag(string name) => Base64Url.EncodeToString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..8];
}
