using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace OAuthBroker.Sealing;

/// <summary>
/// Authenticated encryption of short-lived broker state with the key ring: AES-256-GCM (NIST SP 800-38D) under a
/// per-purpose key derived from the ring key with HKDF-SHA256 (RFC 5869), a random 96-bit nonce per value, and the
/// caller's context as associated data. A sealed value is <c>v1.{keyId}.{base64url(nonce ‖ ciphertext ‖ tag)}</c>:
/// it names the key that opens it, and it opens only for the same purpose and context, so a value cut from one
/// record and pasted into another (another user, another flow, another provider) fails to open.
/// </summary>
public sealed class Sealer(ISealingKeyRing ring)
{
    private const string Version = "v1";
    private const int NonceLength = 12;
    private const int TagLength = 16;

    /// <summary>Characters a sealed value adds to its plaintext: the prefix with a key id of <paramref name="keyIdLength"/>, nonce and tag, base64url.</summary>
    public static int SealedLength(int plaintextLength, int keyIdLength) =>
        Version.Length + 1 + keyIdLength + 1 + Base64Url.GetEncodedLength(NonceLength + plaintextLength + TagLength);

    /// <param name="purpose">What the value is (e.g. <c>pending-link</c>); values of one purpose never open as another.</param>
    /// <param name="context">What the value belongs to (e.g. the record's key and user); bound as associated data.</param>
    public async ValueTask<string> SealAsync(string purpose, ReadOnlyMemory<byte> plaintext, string context, CT ct) =>
        Seal(await ring.GetCurrentAsync(ct), purpose, plaintext.Span, context);

    /// <summary>
    /// The plaintext, or null when the value is malformed, names a key no longer in the ring, or was sealed for
    /// another purpose or context, or altered.
    /// </summary>
    public async ValueTask<byte[]?> UnsealAsync(string purpose, string sealedValue, string context, CT ct)
    {
        var parts = sealedValue.Split('.');
        if (parts.Length != 3 || parts[0] != Version || !SealingKeyIds.IsValid(parts[1]) || await ring.FindAsync(parts[1], ct) is not { } key)
        {
            return null;
        }

        byte[] input;
        try
        {
            input = Base64Url.DecodeFromChars(parts[2]);
        }
        catch (FormatException)
        {
            return null;
        }

        if (input.Length < NonceLength + TagLength)
        {
            return null;
        }

        var length = input.Length - NonceLength - TagLength;
        var output = new byte[length];
        try
        {
            CipherFor(key, purpose).Decrypt(input.AsSpan(0, NonceLength), input.AsSpan(NonceLength, length), input.AsSpan(NonceLength + length), output, AssociatedData(key.Id, context));
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }

        return output;
    }

    private static string Seal(SealingKey key, string purpose, ReadOnlySpan<byte> plaintext, string context)
    {
        var output = new byte[NonceLength + plaintext.Length + TagLength];
        var nonce = output.AsSpan(0, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        CipherFor(key, purpose).Encrypt(nonce, plaintext, output.AsSpan(NonceLength, plaintext.Length), output.AsSpan(NonceLength + plaintext.Length), AssociatedData(key.Id, context));
        return $"{Version}.{key.Id}.{Base64Url.EncodeToString(output)}";
    }

    /// <summary>
    /// The cipher for a key and purpose, kept per thread (an <see cref="AesGcm"/> holds one native context and is not
    /// meant for concurrent use): authorize seals on every request, and a thread mostly seals with one key for one
    /// purpose, so the key schedule is not redone each time.
    /// </summary>
    private static AesGcm CipherFor(SealingKey key, string purpose)
    {
        if (t_cipher is { } cached && ReferenceEquals(t_cipherKey, key) && string.Equals(t_cipherPurpose, purpose, StringComparison.Ordinal))
        {
            return cached;
        }

        t_cipher?.Dispose();
        (t_cipher, t_cipherKey, t_cipherPurpose) = (new AesGcm(key.KeyFor(purpose), TagLength), key, purpose);
        return t_cipher;
    }

    [ThreadStatic]
    private static AesGcm? t_cipher;

    [ThreadStatic]
    private static SealingKey? t_cipherKey;

    [ThreadStatic]
    private static string? t_cipherPurpose;

    private static byte[] AssociatedData(string keyId, string context) => Encoding.UTF8.GetBytes($"{Version}.{keyId}|{context}");
}
