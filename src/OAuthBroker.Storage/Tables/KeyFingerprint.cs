using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace OAuthBroker.Storage.Tables;

/// <summary>
/// Table keys built from identifiers that may be personal data (user ids can be e-mail addresses, account ids
/// can be anything a provider chose): SHA-256 with a purpose prefix, base64url. Fixed length, free of Table's
/// forbidden characters, and no plain personal data in keys, which are copied into logs and metrics by the service.
/// </summary>
public static class KeyFingerprint
{
    public static string Of(string purpose, string value) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(purpose + ":" + value)));
}
