using System.Collections.Concurrent;
using Azure;
using Azure.Security.KeyVault.Secrets;
using OAuthBroker.Events;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// Endpoints' signing secrets from Key Vault, kept for a minute so a run reads each once and a rotation (a new
/// <c>whsec_</c> put beside the old one in the secret's value) is in use within a minute, without a restart.
/// </summary>
public sealed class KeyVaultWebhookSecrets(SecretClient vault, TimeProvider time) : IWebhookSecretSource
{
    private static readonly TimeSpan Freshness = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (DateTimeOffset ReadAt, IReadOnlyList<WebhookSecret>? Secrets)> _read = new(StringComparer.Ordinal);

    public async Task<IReadOnlyList<WebhookSecret>?> GetAsync(string secretName, CT ct)
    {
        var now = time.GetUtcNow();
        if (_read.TryGetValue(secretName, out var cached) && now - cached.ReadAt < Freshness && now >= cached.ReadAt)
        {
            return cached.Secrets;
        }

        IReadOnlyList<WebhookSecret>? secrets;
        try
        {
            var secret = await vault.GetSecretAsync(secretName, cancellationToken: ct);
            secrets = WebhookSecret.ParseAll(secret.Value.Value);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            secrets = null;
        }

        _read[secretName] = (now, secrets);
        return secrets;
    }
}
