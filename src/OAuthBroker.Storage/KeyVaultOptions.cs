using Microsoft.Extensions.Options;

namespace OAuthBroker.Storage;

/// <summary>The credential vault (section <c>KeyVault</c>).</summary>
public sealed class KeyVaultOptions
{
    public const string SectionName = "KeyVault";

    /// <summary>Vault URI, e.g. <c>https://kv-broker.vault.azure.net/</c>. Required.</summary>
    public string? VaultUri { get; set; }

    /// <summary>
    /// Development only: the token the local Key Vault endpoint expects. When set, the app answers the vault's
    /// challenge with it instead of using its Azure identity. Must be unset in Azure.
    /// </summary>
    public string? LocalAccessToken { get; set; }

    /// <summary>
    /// Development only: PEM file of the local Key Vault endpoint's self-signed certificate. The app trusts exactly
    /// that certificate (pinned) in addition to the system's roots.
    /// </summary>
    public string? LocalCertificatePath { get; set; }

    /// <summary>
    /// Longest wait for one vault request (Azure.Core's <c>NetworkTimeout</c>; its default is 100 s). Default 10 s. A
    /// refresher's lease must cover every attempt of a write, so this is part of its budget.
    /// </summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries after a failed attempt (429, 5xx, timeouts). Default 2.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>First backoff; doubles per retry (Key Vault throttling guidance: exponential, never immediate). Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest backoff between two attempts. Default 4 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// Longest Retry-After the client honours. A throttled vault that asks for longer is not retried: the call fails
    /// as throttled at once (Azure.Core would otherwise wait whatever the server asks). Default 4 s.
    /// </summary>
    public TimeSpan RetryAfterCap { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// How long after a write commits a read may still not show it. Key Vault throttling guidance
    /// (learn.microsoft.com/azure/key-vault/general/overview-throttling): a write is visible to the next read at once,
    /// except on vaults allow-listed for higher throughput, which show it "within 60 seconds". Default 60 s (the worse
    /// reading); a spend's result found missing is not given up on before this has passed.
    /// </summary>
    public TimeSpan WriteVisibleWithin { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest one call can take with every attempt and wait: what a refresher's lease must cover for its vault write.</summary>
    public TimeSpan WorstCaseCall => NetworkTimeout * (MaxRetries + 1) + (RetryMaxDelay > RetryAfterCap ? RetryMaxDelay : RetryAfterCap) * MaxRetries;

    internal sealed class Validator : IValidateOptions<KeyVaultOptions>
    {
        public ValidateOptionsResult Validate(string? name, KeyVaultOptions options)
        {
            var errors = new List<string>();
            if (!Uri.TryCreate(options.VaultUri, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add($"{SectionName}:VaultUri must be an absolute https URI (Key Vault only speaks HTTPS).");
            }
            else if (options.LocalAccessToken is not null && !uri.IsLoopback)
            {
                errors.Add($"{SectionName}:LocalAccessToken is for the local Key Vault endpoint only; a non-loopback vault uses the app's Azure identity.");
            }

            if (options.LocalCertificatePath is not null && !File.Exists(options.LocalCertificatePath))
            {
                errors.Add($"{SectionName}:LocalCertificatePath '{options.LocalCertificatePath}' does not exist.");
            }

            if (options.NetworkTimeout <= TimeSpan.Zero || options.MaxRetries is < 0 or > 10 || options.RetryDelay <= TimeSpan.Zero
                || options.RetryMaxDelay < options.RetryDelay || options.RetryAfterCap < TimeSpan.Zero || options.WriteVisibleWithin < TimeSpan.Zero)
            {
                errors.Add($"{SectionName}: NetworkTimeout > 0, MaxRetries 0–10, 0 < RetryDelay <= RetryMaxDelay, RetryAfterCap >= 0, WriteVisibleWithin >= 0.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
