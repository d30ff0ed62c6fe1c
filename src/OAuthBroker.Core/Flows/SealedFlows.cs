using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using OAuthBroker.Sealing;

namespace OAuthBroker.Flows;

/// <summary>
/// A flow as the value of the browser cookie that carries it: <c>{expiry}.{sealed}</c>, where the seal
/// (<see cref="Sealer"/>, purpose <c>flow</c>) covers the user, redirect URI, return URL, browser fingerprint, PKCE
/// verifier, nonce and completion challenge, and binds as associated data the state's fingerprint, the provider and the
/// expiry. So the value opens only with the state it was made for, on that provider's callback, with its own expiry:
/// a cookie moved to another flow or provider, or altered, is refused. The expiry is also in clear in front (the
/// associated data needs it); it is believed only once the seal opens.
/// </summary>
public sealed partial class SealedFlows(Sealer sealer)
{
    public const string SealingPurpose = "flow";

    /// <summary>
    /// A flow's cookie is named by the state's whole fingerprint (SHA-256, base64url), so the broker can open every flow
    /// cookie a browser sends, without the state, before it counts it (<see cref="OpenAsync"/> binds it).
    /// </summary>
    public const int CookieIdLength = 43;

    /// <summary>The id naming the cookie of the flow whose state has this fingerprint.</summary>
    public static string CookieIdOf(string stateFingerprint) => stateFingerprint;

    public async ValueTask<string> SealAsync(AuthorizationFlow flow, CT ct)
    {
        var expires = flow.ExpiresAt.ToUnixTimeSeconds();
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Payload
        {
            User = flow.UserId,
            RedirectUri = flow.RedirectUri.AbsoluteUri,
            ReturnUrl = flow.ReturnUrl.AbsoluteUri,
            Browser = flow.BrowserFingerprint,
            Verifier = flow.CodeVerifier,
            Nonce = flow.Nonce,
            Challenge = flow.CompletionChallenge,
        }, PayloadJson.Default.Payload);
        var sealedFlow = await sealer.SealAsync(SealingPurpose, payload, Context(flow.StateFingerprint, flow.ProviderId, expires), ct);
        return string.Create(CultureInfo.InvariantCulture, $"{expires}.{sealedFlow}");
    }

    /// <summary>The flow, or null when the value does not open for this state and provider (forged, moved, altered, or its key left the ring).</summary>
    public async ValueTask<AuthorizationFlow?> OpenAsync(string stateFingerprint, string providerId, string value, CT ct)
    {
        if (!TrySplit(value, out var expires, out var sealedFlow)
            || await sealer.UnsealAsync(SealingPurpose, sealedFlow, Context(stateFingerprint, providerId, expires), ct) is not { } plaintext)
        {
            return null;
        }

        Payload? payload;
        try
        {
            payload = JsonSerializer.Deserialize(plaintext, PayloadJson.Default.Payload);
        }
        catch (JsonException)
        {
            return null;
        }

        return payload is null ? null : new AuthorizationFlow
        {
            StateFingerprint = stateFingerprint,
            UserId = payload.User,
            ProviderId = providerId,
            RedirectUri = new Uri(payload.RedirectUri),
            ReturnUrl = new Uri(payload.ReturnUrl),
            BrowserFingerprint = payload.Browser,
            CodeVerifier = payload.Verifier,
            Nonce = payload.Nonce,
            CompletionChallenge = payload.Challenge,
            ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(expires),
        };
    }

    private static bool TrySplit(string value, out long expires, out string sealedFlow)
    {
        sealedFlow = "";
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        if (dot is <= 0 or > 12 || !long.TryParse(value.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out expires) || expires > 253402300799)
        {
            expires = 0;
            return false;
        }

        sealedFlow = value[(dot + 1)..];
        return true;
    }

    private static string Context(string stateFingerprint, string providerId, long expires) =>
        string.Create(CultureInfo.InvariantCulture, $"{stateFingerprint}|{providerId}|{expires}");

    /// <summary>What the seal holds; one-letter names, since every byte rides in a cookie.</summary>
    internal sealed class Payload
    {
        [JsonPropertyName("u")] public required string User { get; init; }
        [JsonPropertyName("r")] public required string RedirectUri { get; init; }
        [JsonPropertyName("t")] public required string ReturnUrl { get; init; }
        [JsonPropertyName("b")] public required string Browser { get; init; }
        [JsonPropertyName("v")] public string? Verifier { get; init; }
        [JsonPropertyName("n")] public required string Nonce { get; init; }
        [JsonPropertyName("c")] public string? Challenge { get; init; }
    }

    [JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonSerializable(typeof(Payload))]
    internal sealed partial class PayloadJson : JsonSerializerContext;
}
