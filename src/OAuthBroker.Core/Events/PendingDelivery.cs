namespace OAuthBroker.Events;

/// <summary>One event on its way to one endpoint: attempts so far, and when the next is due.</summary>
public sealed record PendingDelivery
{
    public required string Endpoint { get; init; }
    public required LoggedEvent Logged { get; init; }
    public required int Attempts { get; init; }
    public required DateTimeOffset FirstQueuedAt { get; init; }
    public required DateTimeOffset NextAttemptAt { get; init; }
    /// <summary>Why the last attempt failed (<c>http_503</c>, <c>timeout</c>…); never the receiver's body.</summary>
    public string? LastError { get; init; }
    public bool DeadLettered { get; init; }
    public string? ETag { get; init; }
}
