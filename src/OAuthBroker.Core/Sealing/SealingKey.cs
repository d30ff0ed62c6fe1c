namespace OAuthBroker.Sealing;

/// <summary>
/// One 256-bit key of the key ring, named by <see cref="Id"/> so sealed values say which key opens them and a
/// retired key can still open what it sealed while it was current.
/// </summary>
public sealed class SealingKey
{
    public const int Length = 32;

    private readonly byte[] _material;

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

    internal ReadOnlySpan<byte> Material => _material;

    public override string ToString() => $"SealingKey {{ Id = {Id} }}";
}

public static class SealingKeyIds
{
    /// <summary>Key ids travel inside sealed values: 1–32 ASCII letters, digits or '-' (no '.', the format's separator).</summary>
    public static bool IsValid(string id) =>
        id.Length is > 0 and <= 32 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
