namespace OAuthBroker.Host.Endpoints;

/// <summary>Authorize's JSON answer (<c>Accept: application/json</c>): where to send the browser.</summary>
public sealed record AuthorizationStarted(string AuthorizationUrl);
