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

    /// <summary>Tag names. Tags are readable by anyone with list permission: only non-personal references go there.</summary>
    public const string ProviderTag = "provider";
    public const string LinkTag = "link";
    public const string GrantTag = "grant";

    public async Task<string> WriteAsync(string name, VaultedCredential credential, CT ct)
    {
        EnsureName(name);
        var secret = new KeyVaultSecret(name, JsonSerializer.Serialize(credential, CoreJsonContext.Default.VaultedCredential));
        secret.Properties.ContentType = ContentType;
        secret.Properties.Tags[ProviderTag] = credential.ProviderId;
        if (credential.Link is { } link)
        {
            secret.Properties.Tags[LinkTag] = link;
        }

        if (credential.GrantId is { } grant)
        {
            secret.Properties.Tags[GrantTag] = grant;
        }

        var written = await CallAsync(() => client.SetSecretAsync(secret, ct), ct);
        return written.Value.Properties.Version;
    }

    public Task<VaultedCredential?> ReadAsync(string name, CT ct) => ReadAsync(name, null, ct);

    public Task<VaultedCredential?> ReadVersionAsync(string name, string version, CT ct) =>
        ReadAsync(name, string.IsNullOrEmpty(version) ? throw new ArgumentException("A version id is required.", nameof(version)) : version, ct);

    private async Task<VaultedCredential?> ReadAsync(string name, string? version, CT ct)
    {
        EnsureName(name);
        try
        {
            var response = await CallAsync(() => client.GetSecretAsync(name, version, ct), ct);
            return JsonSerializer.Deserialize(response.Value.Value, CoreJsonContext.Default.VaultedCredential)! with { Version = response.Value.Properties.Version };
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task<CredentialErasure> DeleteAsync(string name, CT ct)
    {
        EnsureName(name);
        var found = true;
        try
        {
            var operation = await CallAsync(() => client.StartDeleteSecretAsync(name, ct), ct);
            // Purge is possible only once the delete has completed (the secret shows up as deleted).
            await operation.WaitForCompletionAsync(TimeSpan.FromMilliseconds(500), ct);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Already deleted (an earlier, interrupted unlink), or never written.
            found = false;
        }

        try
        {
            await client.PurgeDeletedSecretAsync(name, ct);
            return CredentialErasure.Purged;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return found ? CredentialErasure.Purged : CredentialErasure.NotFound;
        }
        catch (RequestFailedException ex) when (ex.Status is 403 or 409)
        {
            // 403: purge protection is on ("Operation "purge" is not allowed because purge protection is enabled for this
            // vault"), or the identity lacks the purge permission, which nobody has by default (Key Vault soft-delete
            // overview). The secret stays recoverable by the vault's administrators until its retention ends.
            return CredentialErasure.SoftDeleted;
        }
        catch (RequestFailedException ex) when (Classify(ex) is { } failure)
        {
            throw new VaultUnavailableException($"Key Vault failed: HTTP {ex.Status} {ex.ErrorCode}.", failure, ex);
        }
        catch (AggregateException ex)
        {
            throw new VaultUnavailableException("Key Vault could not be reached.", VaultFailure.Unavailable, ex);
        }
    }

    public async Task<VaultListing> ListAsync(string? continuation, CT ct)
    {
        await foreach (var page in client.GetPropertiesOfSecretsAsync(ct).AsPages(continuation).WithCancellation(ct))
        {
            var entries = page.Values
                .Where(p => p.ContentType == ContentType && CredentialNames.IsValid(p.Name))
                .Select(p => new VaultEntry(p.Name, Tag(p, LinkTag), Tag(p, GrantTag), Tag(p, ProviderTag), p.UpdatedOn ?? p.CreatedOn))
                .ToList();
            return new VaultListing(entries, page.ContinuationToken);
        }

        return new VaultListing([], null);
    }

    private static string? Tag(SecretProperties properties, string name) => properties.Tags.TryGetValue(name, out var value) ? value : null;

    private static void EnsureName(string name)
    {
        if (!CredentialNames.IsValid(name))
        {
            throw new ArgumentException("Not a valid Key Vault secret name.", nameof(name));
        }
    }

    private static async Task<T> CallAsync<T>(Func<Task<T>> call, CT ct)
    {
        try
        {
            return await call();
        }
        catch (RequestFailedException ex) when (Classify(ex) is { } failure)
        {
            throw new VaultUnavailableException($"Key Vault failed: HTTP {ex.Status} {ex.ErrorCode}.", failure, ex);
        }
        catch (AggregateException ex)
        {
            // Azure.Core's RetryPolicy, every attempt failed without an answer ("Retry failed after N tries").
            throw new VaultUnavailableException("Key Vault could not be reached.", VaultFailure.Unavailable, ex);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            // Azure.Core's network timeout (RetryOptions.NetworkTimeout) on the last attempt surfaces as a bare
            // TaskCanceledException the caller did not ask for: the vault did not answer in time.
            throw new VaultUnavailableException("Key Vault did not answer in time.", VaultFailure.Unavailable, ex);
        }
    }

    /// <summary>
    /// Key Vault REST API error codes (learn.microsoft.com/azure/key-vault/general/rest-error-codes): 403 means the
    /// caller is known but may not do this (a role without <c>secrets/setSecret/action</c>; a failover's read-only mode
    /// in one reading), 429 throttling. 409 on a write is the soft-deleted name (soft-delete overview: "No object with
    /// the same name can be created while it is in the deleted state"). An oversized value is refused as a bad
    /// parameter (400) or by the front end (413); secrets hold at most 25 KB (about-secrets). 401 after the challenge
    /// ("HTTP 401: Unauthenticated Request") means the vault does not accept this identity at all. 404 is not a failure.
    /// </summary>
    private static VaultFailure? Classify(RequestFailedException ex) => ex.Status switch
    {
        0 or 408 or >= 500 => VaultFailure.Unavailable,
        429 => VaultFailure.Throttled,
        401 or 403 => VaultFailure.WritesForbidden,
        409 => VaultFailure.NameDeleted,
        413 => VaultFailure.TooLarge,
        400 when ex.Message.Contains("maximum", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("too large", StringComparison.OrdinalIgnoreCase) => VaultFailure.TooLarge,
        _ => null,
    };
}
