namespace OAuthBroker.Events;

/// <summary>
/// A symmetric signing secret as Standard Webhooks serializes it: <c>whsec_</c> followed by the base64 of 24 to 64
/// random bytes (standard-webhooks/standard-webhooks <c>spec/standard-webhooks.md</c>, "Signature scheme", table row
/// "Signing secret" and "Secret serialization"). <see cref="ToString"/> never shows the key.
/// </summary>
public sealed class WebhookSecret
{
    public const string Prefix = "whsec_";

    private WebhookSecret(byte[] key) => Key = key;

    internal byte[] Key { get; }

    /// <summary>
    /// Every secret in a vault value: one or more <c>whsec_</c> secrets separated by white space, the newest first. All
    /// of them sign every message, so receivers can move to a new secret without missing one (rotation; "Webhook headers").
    /// Null when any part is not a valid secret.
    /// </summary>
    public static IReadOnlyList<WebhookSecret>? ParseAll(string? value)
    {
        var parts = (value ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var secrets = new List<WebhookSecret>(parts.Length);
        foreach (var part in parts)
        {
            if (TryParse(part) is not { } secret)
            {
                return null;
            }

            secrets.Add(secret);
        }

        return secrets.Count == 0 ? null : secrets;
    }

    public static WebhookSecret? TryParse(string text)
    {
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var buffer = new byte[(text.Length - Prefix.Length) * 3 / 4 + 3];
        return Convert.TryFromBase64String(text[Prefix.Length..], buffer, out var length) && length is >= 24 and <= 64
            ? new WebhookSecret(buffer[..length])
            : null;
    }

    public override string ToString() => Prefix + "…";
}
