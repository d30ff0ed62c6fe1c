using System.Text.Json;
using Azure;
using Azure.Security.KeyVault.Secrets;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;

namespace OAuthBroker.Storage.Vault;

/// <summary>
/// Credentials in Azure Key Vault, one secret per link, the whole credential as one JSON document.
/// Names come from <see cref="CredentialNames"/> and are never reused after a delete (soft delete blocks a
/// deleted name for up to 90 days, and re-creating it would fail with 409).
/// </summary>
public sealed class KeyVaultCredentialVault(SecretClient client) : ICredentialVault
{
    public const string ContentType = "application/vnd.oauth-broker.credential+json;v=1";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task WriteAsync(string name, VaultedCredential credential, CT ct)
    {
        EnsureName(name);
        var secret = new KeyVaultSecret(name, JsonSerializer.Serialize(credential, Json));
        secret.Properties.ContentType = ContentType;
        // Tags are readable by anyone with list permission: only non-sensitive facts go there.
        secret.Properties.Tags["provider"] = credential.ProviderId;
        await CallAsync(() => client.SetSecretAsync(secret, ct));
    }

    public async Task<VaultedCredential?> ReadAsync(string name, CT ct)
    {
        EnsureName(name);
        try
        {
            var response = await CallAsync(() => client.GetSecretAsync(name, cancellationToken: ct));
            return JsonSerializer.Deserialize<VaultedCredential>(response.Value.Value, Json);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task DeleteAsync(string name, CT ct)
    {
        EnsureName(name);
        try
        {
            // Not waiting for the delete to complete: the name is never used again, so nothing depends on it.
            await CallAsync(() => client.StartDeleteSecretAsync(name, ct));
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Already deleted: unlink is idempotent.
        }
    }

    private static void EnsureName(string name)
    {
        if (!CredentialNames.IsValid(name))
        {
            throw new ArgumentException("Not a valid Key Vault secret name.", nameof(name));
        }
    }

    private static async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RequestFailedException ex) when (ex.Status is 0 or 408 or 429 or >= 500)
        {
            throw new VaultUnavailableException($"Key Vault failed: HTTP {ex.Status} {ex.ErrorCode}.", ex);
        }
        catch (AggregateException ex)
        {
            throw new VaultUnavailableException("Key Vault could not be reached.", ex);
        }
    }
}
