namespace OAuthBroker.Refresh;

/// <summary>What <see cref="VaultWriteGate"/> allows a refresh about to spend its token.</summary>
/// <param name="MaySpend">False while the shared breaker is open.</param>
/// <param name="NeedsProof">The refresh must first rewrite its credential to show the vault takes writes.</param>
/// <param name="BlockedUntil">When the breaker closes (lease clock), if it is open.</param>
/// <param name="Reason">Why it opened.</param>
public sealed record GateCheck(bool MaySpend, bool NeedsProof, DateTimeOffset? BlockedUntil, string? Reason);
