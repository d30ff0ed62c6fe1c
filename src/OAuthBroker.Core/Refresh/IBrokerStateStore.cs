namespace OAuthBroker.Refresh;

/// <summary>
/// Small named values every instance shares (the vault-write breaker, the janitor's place in its listing). Last
/// writer wins: nothing stored here needs more than that.
/// </summary>
public interface IBrokerStateStore
{
    Task<string?> GetAsync(string key, CT ct);

    /// <summary>Stores <paramref name="value"/>; null removes it.</summary>
    Task SetAsync(string key, string? value, CT ct);
}
