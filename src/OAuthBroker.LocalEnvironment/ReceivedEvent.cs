namespace OAuthBroker.LocalEnvironment;

/// <summary>
/// One event as the local run's webhook receiver saw it: what the body says (type, provider, account, user, when it
/// happened), when it arrived, whether its <c>webhook-signature</c> verified, and how many deliveries carried its id.
/// </summary>
public sealed record ReceivedEvent(
    string Id,
    string Type,
    string? Provider,
    string? AccountId,
    string? UserId,
    DateTimeOffset? OccurredAt,
    DateTimeOffset ReceivedAt,
    bool Verified,
    int Deliveries);
