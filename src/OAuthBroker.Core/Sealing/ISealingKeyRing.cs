namespace OAuthBroker.Sealing;

/// <summary>
/// The keys that seal short-lived broker state (flows in the browser cookie, pending links). One key seals (the
/// current one); every key still in the ring opens what it sealed, so rotation is: add the new key, make it current,
/// remove the old one once everything it sealed has expired. Keys come from configuration
/// (<see cref="ConfiguredSealingKeyRing"/>) or, in Azure, from Key Vault by version (the storage project's
/// <c>KeyVaultSealingKeyRing</c>), which may have to load them first: hence the asynchronous shape, whose fast path
/// completes synchronously.
/// </summary>
public interface ISealingKeyRing
{
    /// <summary>The key that seals now.</summary>
    /// <exception cref="Errors.VaultUnavailableException">The keys could not be loaded at all.</exception>
    ValueTask<SealingKey> GetCurrentAsync(CT ct);

    /// <summary>The key with this id, or null when it is not (or no longer) in the ring.</summary>
    ValueTask<SealingKey?> FindAsync(string id, CT ct);
}
