namespace OAuthBroker.Scheduling;

/// <summary>A held occurrence: <paramref name="Version"/> is the store's concurrency token of the claim as written.</summary>
public sealed record ScheduledRunClaim(DateTimeOffset Occurrence, string Version);
