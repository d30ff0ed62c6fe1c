namespace OAuthBroker.Host.Endpoints;

/// <summary>A start ticket for a single-page app: the ticket, when it expires, and the authorize URL carrying it.</summary>
public sealed record StartTicketIssued(string Ticket, DateTimeOffset ExpiresAt, string AuthorizeUrl);
