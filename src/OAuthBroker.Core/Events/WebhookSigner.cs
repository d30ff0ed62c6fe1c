using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OAuthBroker.Events;

/// <summary>
/// Standard Webhooks symmetric signatures (standard-webhooks/standard-webhooks <c>spec/standard-webhooks.md</c> @03f5f8c,
/// "Signature scheme" and "Webhook headers"): HMAC-SHA256 over <c>{webhook-id}.{webhook-timestamp}.{body}</c>, sent as
/// <c>v1,{base64}</c>, one per secret, space-delimited.
/// </summary>
public static class WebhookSigner
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    /// <summary>The <c>webhook-signature</c> value for one attempt: a <c>v1</c> signature per secret.</summary>
    public static string Sign(string id, long timestamp, ReadOnlySpan<byte> body, IReadOnlyList<WebhookSecret> secrets)
    {
        var content = SignedContent(id, timestamp, body);
        return string.Join(' ', secrets.Select(s => "v1," + Convert.ToBase64String(HMACSHA256.HashData(s.Key, content))));
    }

    /// <summary>
    /// What a receiver does: true when one of the <c>v1</c> signatures in <paramref name="signatureHeader"/> matches
    /// <paramref name="secret"/> (compared in constant time, "Verifying signatures"). The timestamp tolerance and the
    /// deduplication by id are the receiver's to add.
    /// </summary>
    public static bool Verify(string id, string timestamp, ReadOnlySpan<byte> body, string signatureHeader, WebhookSecret secret)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        var expected = HMACSHA256.HashData(secret.Key, SignedContent(id, seconds, body));
        var matched = false;
        foreach (var signature in signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = signature.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || signature[..comma] != "v1")
            {
                continue;
            }

            var presented = new byte[32];
            if (Convert.TryFromBase64String(signature[(comma + 1)..], presented, out var length) && length == 32)
            {
                matched |= CryptographicOperations.FixedTimeEquals(presented, expected);
            }
        }

        return matched;
    }

    private static byte[] SignedContent(string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(id + "." + timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return content;
    }
}
