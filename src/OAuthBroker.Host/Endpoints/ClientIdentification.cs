namespace OAuthBroker.Host.Endpoints;

/// <summary>The rate-limit partition of a request, or why there is none.</summary>
public readonly record struct ClientIdentification(string? Partition, UnidentifiedClient? Failure);
