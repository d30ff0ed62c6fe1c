namespace OAuthBroker.Events;

/// <summary>An event as the log holds it: its place in the log (<see cref="Cursor"/>, the order it was recorded in) and the event.</summary>
public sealed record LoggedEvent(string Cursor, LinkEvent Event);
