namespace OAuthBroker.Errors;

/// <summary>How a vault call failed. The first three concern the whole vault; the last two one secret.</summary>
public enum VaultFailure
{
    /// <summary>Down, timed out, or 5xx after the client's retries (a failover answers writes this way in one reading).</summary>
    Unavailable,
    /// <summary>429 after the client's retries, or a Retry-After longer than the client waits.</summary>
    Throttled,
    /// <summary>403: the identity may read but not write (a role without <c>set</c>, or the read-only mode of a failover).</summary>
    WritesForbidden,
    /// <summary>409: the name is soft-deleted and cannot be written until it is purged or recovered.</summary>
    NameDeleted,
    /// <summary>400/413: the document is larger than a secret may be (25 KB).</summary>
    TooLarge,
}

public static class VaultFailureExtensions
{
    /// <summary>True when no write to this vault can succeed right now, whatever the secret.</summary>
    public static bool AffectsWholeVault(this VaultFailure failure) => failure is VaultFailure.Unavailable or VaultFailure.Throttled or VaultFailure.WritesForbidden;
}
