namespace OAuthBroker.Credentials;

/// <summary>
/// The longest one vault write can take with the vault client's retries (attempts × network timeout, plus the
/// waits between them, Retry-After included and capped). A refresher's lease must cover it.
/// </summary>
public interface IVaultWriteBudget
{
    TimeSpan WorstCaseWrite { get; }
}
