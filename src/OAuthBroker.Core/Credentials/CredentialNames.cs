using System.Buffers.Text;
using System.Security.Cryptography;

namespace OAuthBroker.Credentials;

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

    /// <summary>A fresh grant id: random, so it says nothing about the user or the account.</summary>
    public static string NewGrantId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>
    /// The grant id of the grant a pending link holds (<paramref name="completionFingerprint"/>: the pending link's key).
    /// Every secret written for that grant has it, whichever attempt wrote it: a busy re-link leaves a secret behind and
    /// its retry links the same grant under another name, and the janitor must see that secret as the link's own grant
    /// (after a refresh, no token tells them apart) and never revoke it.
    /// </summary>
    public static string GrantIdOfPending(string completionFingerprint) =>
        "p" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("pending-grant\n" + completionFingerprint)))[..15];

    /// <summary>
    /// The grant id of a credential written before grants had ids, derived from the secret it was first found under:
    /// every refresher of that link derives the same one, so a copy one of them made (and then lost the lease before the
    /// row could say so) carries the link's grant, and the janitor never takes it for another grant and revokes it.
    /// </summary>
    public static string GrantIdOfUntagged(string credentialName) =>
        "u" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("grant\n" + credentialName)))[..15];
}
