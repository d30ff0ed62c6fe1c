namespace OAuthBroker.LocalKeyVault;

/// <summary>
/// Ways a real vault keeps answering reads while it refuses writes (set, delete, purge, recover). Each is answered as
/// the source cited beside it says; where the source does not say, both readings exist and the tests run both.
/// </summary>
public enum WriteFault
{
    /// <summary>Writes work.</summary>
    None,

    /// <summary>
    /// The identity may read but not write (e.g. "Key Vault Secrets User" without <c>secrets/setSecret/action</c>):
    /// 403 with code <c>Forbidden</c> and inner code <c>ForbiddenByRbac</c>. Key Vault REST API error codes, "HTTP 403:
    /// Insufficient Permissions" (learn.microsoft.com/azure/key-vault/general/rest-error-codes); the body's shape as
    /// Key Vault returns it is quoted in public reports, e.g. MicrosoftDocs/azure-docs and Azure SDK issue threads
    /// ("Caller is not authorized to perform action on resource … Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'
    /// … Assignment: (not found)", <c>{"code":"ForbiddenByRbac"}</c>).
    /// </summary>
    Forbidden,

    /// <summary>
    /// Sustained throttling of writes: 429 on every write, while reads (a separate budget in Key Vault service limits:
    /// secret creates 300 per 10 s, other transactions 4,000 per 10 s) go on. Key Vault throttling guidance
    /// (learn.microsoft.com/azure/key-vault/general/overview-throttling: "returns HTTP status code 429 (Too many
    /// requests), and the request fails") and REST API error codes "HTTP 429: Too Many Requests". Whether a Retry-After
    /// comes with it is not documented: see <see cref="LocalKeyVaultApp.ThrottleRetryAfter"/> for the two readings.
    /// </summary>
    Throttled,

    /// <summary>
    /// A regional failover's read-only mode, first reading: writes refused with 403. Key Vault availability and
    /// redundancy (learn.microsoft.com/azure/key-vault/general/disaster-recovery-guidance): "During failover, your key
    /// vault is in read-only mode. Requests that are supported in this mode are: … List secrets, Get secrets …". The
    /// status of a refused write is not documented, hence two readings.
    /// </summary>
    ReadOnlyForbidden,

    /// <summary>The same read-only mode, second reading: writes answered 503 Service Unavailable (which Azure.Core retries, then gives up).</summary>
    ReadOnlyUnavailable,
}
