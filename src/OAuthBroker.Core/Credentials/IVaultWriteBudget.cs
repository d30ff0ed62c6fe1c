namespace OAuthBroker.Credentials;

/// <summary>
/// The longest one vault write can take with the vault client's retries (attempts × network timeout, plus the
/// waits between them, Retry-After included and capped). A refresher's lease must cover it.
/// </summary>
public interface IVaultWriteBudget
{
    TimeSpan WorstCaseWrite { get; }

    /// <summary>How long after a write commits a read may still not show it (Key Vault: at once, or "within 60 seconds" on allow-listed vaults).</summary>
    TimeSpan WriteVisibleWithin { get; }
}
