namespace OAuthBroker.Bench;

/// <summary>A JSON body sent chunked (no Content-Length), as the Functions host's <c>ObjectContent</c> is.</summary>
internal sealed class ChunkedBody : HttpContent
{
    private readonly byte[] _json;

    public ChunkedBody(byte[] json)
    {
        _json = json;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
    }

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(_json).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
