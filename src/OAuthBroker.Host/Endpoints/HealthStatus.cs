namespace OAuthBroker.Host.Endpoints;

/// <summary>The health answer, <c>{"status":"ok"}</c>. A named type: the request delegate generator cannot emit code
/// for anonymous ones.</summary>
public sealed record HealthStatus(string Status);
