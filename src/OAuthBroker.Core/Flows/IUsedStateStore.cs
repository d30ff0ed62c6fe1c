namespace OAuthBroker.Flows;

/// <summary>A state that has been used at the callback, kept until its flow could no longer be accepted anyway.</summary>
public sealed record UsedState(string StateFingerprint, DateTimeOffset ExpiresAt, string? ETag = null);

/// <summary>
/// Single use of state without storing flows: the callback records the state's fingerprint with an insert that fails
/// when it is already there, so of any number of callbacks presenting one sealed flow (replays, concurrent tabs, a
/// copied cookie) exactly one gets through.
/// </summary>
public interface IUsedStateStore
{
    /// <summary>Records the state as used; false when it already was. Throws <see cref="Errors.StorageUnavailableException"/>.</summary>
    Task<bool> TryMarkUsedAsync(string stateFingerprint, DateTimeOffset expiresAt, CT ct);

    /// <summary>Markers of flows that expired before <paramref name="before"/>, for housekeeping.</summary>
    IAsyncEnumerable<UsedState> ListExpiredAsync(DateTimeOffset before, CT ct);

    /// <summary>Removes a marker (housekeeping); false when it was already gone.</summary>
    Task<bool> TryRemoveAsync(UsedState marker, CT ct);
}
