using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace OAuthBroker.Flows;

/// <summary>Random values and their one-way fingerprints for flow state, PKCE and browser binding.</summary>
public static class FlowSecrets
{
    /// <summary>256 bits from the OS CSPRNG, base64url (43 characters).</summary>
    public static string NewOpaqueValue() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>True for a value <see cref="NewOpaqueValue"/> could have made (43 base64url characters).</summary>
    public static bool IsOpaqueValue(string value) =>
        value.Length == 43 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// SHA-256 fingerprint, base64url. Stored instead of the value itself so a read of the flow table cannot
    /// be turned into a working callback, and safe as a Table key (no <c>/ \ # ?</c>).
    /// </summary>
    public static string Fingerprint(string value) => Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>True when one of the browser's binding values has <paramref name="fingerprint"/> (each compared in constant time).</summary>
    public static bool IsBoundTo(string fingerprint, IReadOnlyList<string> browserBindings)
    {
        var bound = false;
        foreach (var binding in browserBindings)
        {
            bound |= FingerprintsEqual(fingerprint, Fingerprint(binding));
        }

        return bound;
    }

    /// <summary>Constant-time comparison of two fingerprints.</summary>
    public static bool FingerprintsEqual(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}

/// <summary>RFC 7636 PKCE with the S256 method only (plain is never used, RFC 9700 §2.1.1).</summary>
public static class Pkce
{
    /// <summary>A 43-character verifier (256 bits), within RFC 7636's 43–128 range.</summary>
    public static string NewVerifier() => FlowSecrets.NewOpaqueValue();

    public static string S256Challenge(string verifier) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>RFC 7636 §4.1: 43–128 characters from <c>[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"</c>.</summary>
    public static bool IsVerifier(string value) =>
        value.Length is >= 43 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    /// <summary>An S256 challenge: the base64url SHA-256 of a verifier, 43 characters (RFC 7636 §4.2).</summary>
    public static bool IsS256Challenge(string value) => FlowSecrets.IsOpaqueValue(value);

    /// <summary>RFC 7636 §4.6: the verifier's S256 transformation equals the challenge (compared in constant time).</summary>
    public static bool Verifies(string verifier, string challenge) =>
        IsVerifier(verifier) && FlowSecrets.FingerprintsEqual(S256Challenge(verifier), challenge);
}
