using System.Net;

namespace OAuthBroker.Providers.Http;

/// <summary>
/// Wraps a request body and records when it starts being written to the connection (see <see cref="RequestWriteWatch"/>
/// for why that is the moment a request may reach its server). Otherwise the body and its headers are the inner one's.
/// </summary>
internal sealed class WriteObservingContent : HttpContent
{
    private readonly HttpContent _inner;
    private readonly RequestWriteWatch? _watch;
    private int _started;

    public WriteObservingContent(HttpContent inner, RequestWriteWatch? watch)
    {
        _inner = inner;
        _watch = watch;
        foreach (var (name, values) in inner.Headers)
        {
            // Content-Length is computed by TryComputeLength from the inner body.
            if (!string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                Headers.TryAddWithoutValidation(name, values);
            }
        }
    }

    /// <summary>True once the handler began writing the body (the connection was up and the headers out).</summary>
    public bool WriteStarted => Volatile.Read(ref _started) != 0;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _started, 1);
        _watch?.Reached();
        await _inner.CopyToAsync(stream, context, cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        var known = _inner.Headers.ContentLength;
        length = known ?? 0;
        return known is not null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
