using System.Text.Json;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.Generic;

/// <summary>
/// OpenID Connect Core §3.1.3.7 for an ID token received straight from the token endpoint over TLS: iss (item 2),
/// aud (item 3), azp (items 4–5), exp (item 9) and nonce (§3.1.3.7 item 11). The signature is not checked: item 6
/// accepts the TLS server validation of the token endpoint in its place for the code flow.
/// </summary>
public static class IdTokenCheck
{
    /// <summary>Clock skew allowed on expiry.</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromMinutes(2);

    /// <summary>Null when valid; otherwise the name of the failing check (safe to log).</summary>
    public static string? Problem(JsonElement claims, string? issuer, string clientId, string nonce, DateTimeOffset now)
    {
        // Item 2: the issuer must match exactly; with none known there is nothing to match, which is a failure too.
        if (issuer is null || claims.StringProperty("iss") != issuer)
        {
            return "iss";
        }

        // Item 3: aud is a string or an array of strings that must contain the client id. Other elements are ignored
        // rather than read (a number in the array must not throw).
        var audiences = claims.TryGetProperty("aud", out var aud) && aud.ValueKind == JsonValueKind.Array
            ? aud.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).ToArray()
            : claims.StringProperty("aud") is { } single ? [single] : [];
        if (!audiences.Contains(clientId, StringComparer.Ordinal))
        {
            return "aud";
        }

        // Items 4–5: with several audiences azp should be present, and a present azp must be this client.
        var azp = claims.StringProperty("azp");
        if ((azp is not null && azp != clientId) || (azp is null && audiences.Length > 1))
        {
            return "azp";
        }

        // Item 9, read without throwing whatever the number (ProviderNumbers).
        if (ProviderNumbers.UnixTime(claims.SecondsProperty("exp"), now) is not { } expires || expires + Skew < now)
        {
            return "exp";
        }

        return claims.StringProperty("nonce") != nonce ? "nonce" : null;
    }
}
