namespace OAuthBroker.Sealing;

/// <summary>
/// The keys that seal short-lived broker state (pending links now; flow state in the browser cookie next). One key
/// seals (<see cref="Current"/>); every key still in the ring opens what it sealed, so rotation is: add the new key,
/// make it current, remove the old one once everything it sealed has expired. Implementations may load keys from
/// configuration (<see cref="ConfiguredSealingKeyRing"/>) or, later, from Key Vault by id.
/// </summary>
public interface ISealingKeyRing
{
    SealingKey Current { get; }

    /// <summary>The key with this id, or null when it is not (or no longer) in the ring.</summary>
    SealingKey? Find(string id);
}
