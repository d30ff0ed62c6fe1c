using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace OAuthBroker.Sealing;

/// <summary>
/// One 256-bit key of the key ring, named by <see cref="Id"/> so sealed values say which key opens them and a
/// retired key can still open what it sealed while it was current.
/// </summary>
public sealed class SealingKey
{
    public const int Length = 32;

    private readonly byte[] _material;
    private readonly ConcurrentDictionary<string, byte[]> _derived = new(StringComparer.Ordinal);

    public SealingKey(string id, ReadOnlySpan<byte> material)
    {
        if (!SealingKeyIds.IsValid(id))
        {
            throw new ArgumentException("A key id is 1–32 letters, digits or '-'.", nameof(id));
        }

        if (material.Length != Length)
        {
            throw new ArgumentException($"A sealing key is exactly {Length} bytes.", nameof(material));
        }

        Id = id;
        _material = material.ToArray();
    }

    public string Id { get; }

    /// <summary>
    /// RFC 5869 HKDF-SHA256: one AES key per purpose, so no two uses of the ring share an AES key. Derived once per
    /// key and purpose (the authorize path seals on every request) and dropped with the key when it leaves the ring.
    /// </summary>
    internal byte[] KeyFor(string purpose) => _derived.GetOrAdd(purpose, static (p, material) =>
    {
        var derived = new byte[Length];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, material, derived, salt: [], info: Encoding.UTF8.GetBytes("oauth-broker/sealing/" + p));
        return derived;
    }, _material);

    public override string ToString() => $"SealingKey {{ Id = {Id} }}";
}

public static class SealingKeyIds
{
    /// <summary>Key ids travel inside sealed values: 1–32 ASCII letters, digits or '-' (no '.', the format's separator).</summary>
    public static bool IsValid(string id) =>
        id.Length is > 0 and <= 32 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
