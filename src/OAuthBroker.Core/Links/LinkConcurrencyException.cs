namespace OAuthBroker.Links;

/// <summary>The stored link changed since it was read (ETag mismatch).</summary>
public sealed class LinkConcurrencyException(string message, Exception? inner = null) : Exception(message, inner)
{
    public LinkConcurrencyException() : this("The link changed since it was read.") { }
    public LinkConcurrencyException(string message) : this(message, null) { }
}
