using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// How the host sends an HTTP function's request to the custom handler with <c>enableForwardingHttpRequest</c>, and how
/// it hands the handler's answer back, each step the host's own expression:
/// <list type="number">
/// <item>path: <c>httpRequest.GetRequestUri().AbsolutePath</c> (<c>DefaultHttpWorkerService.cs:168-177</c>), where
/// <c>GetRequestUri()</c> is <c>new Uri(request.GetDisplayUrl())</c> (<c>Extensions/HttpRequestExtensions.cs:124</c>):
/// the <b>decoded</b> path parsed again, so <c>\</c> becomes <c>/</c>, <c>..</c> is resolved and a decoded <c>?</c> or
/// <c>#</c> ends the path;</item>
/// <item>URI: <c>new UriBuilder("http", "127.0.0.1", port, path).ToString()</c> (<c>DefaultHttpWorkerService.cs:291-298</c>,
/// <c>Workers/WorkerConstants.cs:8-9</c>);</item>
/// <item>query: each key once, its values joined by <c>StringValues.ToString()</c> (a comma), re-encoded by
/// <c>QueryHelpers.AddQueryString</c> (<c>HttpRequestExtensions.cs:155-160,231-240</c>);</item>
/// <item>every header copied with <c>TryAddWithoutValidation</c>; the method; the body only when
/// <c>Content-Length &gt; 0</c>: a chunked request keeps its <c>Transfer-Encoding</c> header and loses its body, which
/// the HttpClient refuses to send, failing the invocation (<c>HttpRequestExtensions.cs:162-178</c>);</item>
/// <item><c>X-Azure-Functions-HostVersion</c>, <c>X-Azure-Functions-InvocationId</c>, and <c>Azure-Functions-Host/{version}</c>
/// appended to User-Agent (<c>DefaultHttpWorkerService.cs:161-166</c>, <c>Workers/Http/HttpWorkerConstants.cs:9-11</c>);</item>
/// <item>sent by an <c>HttpClient</c> without cookies or redirects (<c>DefaultHttpWorkerService.cs:52-58</c>);</item>
/// <item>the answer written back by <c>HttpResponseMessageOutputFormatter</c> (<c>Binding/Http/HttpBinding.cs:201-214</c>;
/// dotnet/aspnetcore <c>src/Microsoft.AspNetCore.Mvc.WebApiCompatShim/Formatters/HttpResponseMessageOutputFormatter.cs:38-74</c>):
/// status, a lone <c>Transfer-Encoding: chunked</c> dropped, every header and content header appended, the body copied.</item>
/// </list>
/// </summary>
public sealed class RequestForwarder(int handlerPort, string hostVersion) : IDisposable
{
    /// <summary>The host's client timeout for any invocation: FunctionTimeout (30 min on Flex, <c>Config/ScriptJobHostOptionsSetup.cs</c>) plus a minute (<c>DefaultHttpWorkerService.cs:45-49</c>).</summary>
    public static readonly TimeSpan InvocationTimeout = TimeSpan.FromMinutes(31);

    private readonly HttpClient _http = new(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = InvocationTimeout };

    public int HandlerPort => handlerPort;

    /// <summary>The URI the host would send this request to.</summary>
    public string ForwardedUri(HttpRequest request)
    {
        var path = new Uri(request.GetDisplayUrl()).AbsolutePath;
        var uri = new UriBuilder("http", "127.0.0.1", handlerPort, path).ToString();
        var query = new Dictionary<string, string?>();
        foreach (var key in request.Query.Keys)
        {
            request.Query.TryGetValue(key, out var value);
            query.Add(key, value.ToString());
        }

        return new Uri(QueryHelpers.AddQueryString(uri, query)).AbsoluteUri;
    }

    public async Task ForwardAsync(HttpContext context, string invocationId)
    {
        var request = context.Request;
        using var message = new HttpRequestMessage { RequestUri = new Uri(ForwardedUri(request)) };
        foreach (var header in request.Headers)
        {
            message.Headers.TryAddWithoutValidation(header.Key, header.Value.AsEnumerable());
        }

        message.Method = new HttpMethod(request.Method);
        if (request.ContentLength is > 0)
        {
            message.Content = new StreamContent(request.Body);
            message.Content.Headers.Add("Content-Length", request.ContentLength.ToString());
            if (!string.IsNullOrEmpty(request.ContentType))
            {
                message.Content.Headers.Add("Content-Type", request.ContentType);
            }
        }

        message.Headers.Add("X-Azure-Functions-HostVersion", hostVersion);
        message.Headers.Add("X-Azure-Functions-InvocationId", invocationId);
        message.Headers.UserAgent.ParseAdd($"Azure-Functions-Host/{hostVersion}");

        using var answer = await _http.SendAsync(message, context.RequestAborted);
        await WriteAsync(context, answer);
    }

    private static async Task WriteAsync(HttpContext context, HttpResponseMessage answer)
    {
        var response = context.Response;
        response.StatusCode = (int)answer.StatusCode;
        if (context.Features.Get<IHttpResponseFeature>() is { } feature)
        {
            feature.ReasonPhrase = answer.ReasonPhrase;
        }

        if (answer.Headers.TransferEncodingChunked == true && answer.Headers.TransferEncoding.Count == 1)
        {
            answer.Headers.TransferEncoding.Clear();
        }

        foreach (var header in answer.Headers)
        {
            response.Headers.Append(header.Key, header.Value.ToArray());
        }

        _ = answer.Content.Headers.ContentLength;
        foreach (var header in answer.Content.Headers)
        {
            response.Headers.Append(header.Key, header.Value.ToArray());
        }

        await answer.Content.CopyToAsync(response.Body);
    }

    public void Dispose() => _http.Dispose();
}
