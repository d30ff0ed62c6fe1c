namespace OAuthBroker.Credentials;

/// <summary>What deleting a secret left behind.</summary>
public enum CredentialErasure
{
    /// <summary>Deleted and purged: nothing is recoverable.</summary>
    Purged,
    /// <summary>
    /// Deleted, but Key Vault's soft delete keeps it recoverable by the vault's administrators until its retention
    /// period ends (7–90 days), because the vault refuses the purge (purge protection, or no purge permission).
    /// </summary>
    SoftDeleted,
    /// <summary>There was nothing to delete.</summary>
    NotFound,
}
