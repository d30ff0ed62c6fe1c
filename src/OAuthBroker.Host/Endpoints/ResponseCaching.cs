using Microsoft.Net.Http.Headers;

namespace OAuthBroker.Host.Endpoints;

public static class ResponseCaching
{
    /// <summary>Nothing the broker answers about flows, links or credentials may be kept by a browser or a proxy (RFC 6749 §5.1).</summary>
    public static void NoStore(this HttpResponse response)
    {
        response.Headers[HeaderNames.CacheControl] = "no-store";
        response.Headers[HeaderNames.Pragma] = "no-cache";
    }
}
