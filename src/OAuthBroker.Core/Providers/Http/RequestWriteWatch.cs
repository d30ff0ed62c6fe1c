namespace OAuthBroker.Providers.Http;

/// <summary>
/// Tells whether any provider request made inside a scope may have reached its server, so a failed refresh that never
/// did counts as "nothing spent" whatever failed: a discovery document that could not be fetched, a misconfiguration,
/// a connection that was refused, timed out or failed its TLS handshake.
/// <para>
/// A token request carries its grant in the body (RFC 6749 §3.2: "The client MUST use the HTTP POST method"; §6: the
/// refresh token is a body parameter), and <see cref="SocketsHttpHandler"/> writes the body only once the connection is
/// established (name resolution, TCP connect, TLS, proxy tunnel) and the headers are out: <c>HttpConnection.SendAsync</c>
/// then <c>SendRequestContentAsync</c>, which calls <see cref="HttpContent.CopyToAsync(Stream, System.Net.TransportContext?, CancellationToken)"/>
/// (dotnet/runtime, src/libraries/System.Net.Http/src/System/Net/Http/SocketsHttpHandler/HttpConnection.cs). So a request
/// "may have reached the server" from the moment its body starts to be written (<see cref="WriteObservingContent"/>).
/// A request without a body is counted from the moment it is sent, except GET and HEAD, which cannot carry a token
/// request.
/// </para>
/// </summary>
public sealed class RequestWriteWatch : IDisposable
{
    private static readonly AsyncLocal<RequestWriteWatch?> Active = new();

    private readonly RequestWriteWatch? _outer;
    private int _reached;

    private RequestWriteWatch(RequestWriteWatch? outer) => _outer = outer;

    /// <summary>The innermost watch of the calling flow, if any.</summary>
    public static RequestWriteWatch? Current => Active.Value;

    /// <summary>Watches every provider request made on this asynchronous flow until disposed.</summary>
    public static RequestWriteWatch Begin()
    {
        var watch = new RequestWriteWatch(Active.Value);
        Active.Value = watch;
        return watch;
    }

    /// <summary>True once a request made in the scope may have reached its server.</summary>
    public bool MayHaveReachedServer => Volatile.Read(ref _reached) != 0;

    /// <summary>A request made in the scope may have reached its server (an enclosing watch learns it too).</summary>
    public void Reached()
    {
        for (var watch = this; watch is not null; watch = watch._outer)
        {
            Interlocked.Exchange(ref watch._reached, 1);
        }
    }

    public void Dispose() => Active.Value = _outer;
}
