using System.Buffers.Text;
using System.Text.Json;

namespace OAuthBroker.Providers.Http;

/// <summary>
/// Reads the claims of a JWT the broker received directly from the provider's token endpoint over TLS.
/// The signature is not (and cannot be: Bybit signs with its own HS256 key) verified; the token's
/// authenticity comes from the back-channel it arrived on, which is what RFC 6749 §10.16 relies on too.
/// </summary>
public static class JwtPayload
{
    public static JsonDocument? TryRead(string? jwt)
    {
        if (string.IsNullOrEmpty(jwt) || jwt.Length > 16 * 1024)
        {
            return null;
        }

        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var bytes = Base64Url.DecodeFromChars(parts[1]);
            using var probe = JsonDocument.Parse(bytes);
            return probe.RootElement.ValueKind == JsonValueKind.Object ? JsonDocument.Parse(bytes) : null;
        }
        catch (FormatException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
