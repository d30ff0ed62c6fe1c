using System.Text.Json;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// Tells the host's own timer invocation from anything else that reaches <c>POST /RefreshTokens</c>, by the shape the
/// host gives each (azure-functions-host 89dc438):
/// <list type="bullet">
/// <item>The timer invocation is built from scratch: a new <c>HttpRequestMessage</c> to
/// <c>http://127.0.0.1:{port}/RefreshTokens</c> whose only content is an <c>ObjectContent</c> written by a
/// <c>JsonMediaTypeFormatter</c> (<c>Workers/MessageExtensions/HttpScriptInvocationContextExtensions.cs:13-23</c>,
/// <c>DefaultHttpWorkerService.cs:179-191,291-298</c>, <c>Workers/WorkerConstants.cs:8-9</c>), plus
/// <c>X-Azure-Functions-HostVersion</c>, <c>X-Azure-Functions-InvocationId</c> and the <c>Azure-Functions-Host/{version}</c>
/// User-Agent (<c>DefaultHttpWorkerService.cs:161-166</c>), sent by an <c>HttpClient</c> without cookies
/// (<c>DefaultHttpWorkerService.cs:52-58</c>). So: <c>Host</c> is <c>127.0.0.1:{port}</c>, the body is chunked (an
/// <c>ObjectContent</c> has no length up front), and there are no other headers but the W3C/legacy trace context the
/// runtime's HttpClient may add when an activity is current (dotnet/runtime <c>DiagnosticsHandler</c>).</item>
/// <item>A forwarded HTTP request is the client's request copied: <b>every</b> header of it, <c>Host</c> included (which
/// the HttpClient then sends instead of the URI's authority), and a body only with its <c>Content-Length</c>
/// (<c>Extensions/HttpRequestExtensions.cs:155-181</c>); a chunked client body is never forwarded (the copied
/// <c>Transfer-Encoding</c> without content makes the HttpClient refuse to send). On Azure the front end has added its own
/// headers (<c>Client-IP</c>, <c>X-Forwarded-*</c>, <c>DISGUISED-HOST</c>) before the host saw it.</item>
/// </list>
/// A request with a body of known length, a header the timer invocation never carries, or another Host is therefore not
/// the timer: it is refused before its body is read.
/// </summary>
public static class TimerInvocationShape
{
    /// <summary>Every header the host's timer invocation can carry (case-insensitive).</summary>
    public static readonly IReadOnlySet<string> TimerHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Type", "Transfer-Encoding", "User-Agent", "X-Azure-Functions-HostVersion", "X-Azure-Functions-InvocationId",
        // Trace context, when the host's HttpClient propagates an activity (W3C and the legacy hierarchical format).
        "traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context",
    };

    /// <summary>Why the request's headers are not the timer invocation's; null when they are.</summary>
    public static string? RefusalFromHeaders(HttpRequest request, int handlerPort)
    {
        if (!string.Equals(request.Headers.Host.ToString(), $"127.0.0.1:{handlerPort}", StringComparison.Ordinal))
        {
            return "its Host is not the handler's loopback address (a forwarded request carries the client's Host)";
        }

        if (request.Headers.Keys.Where(name => !TimerHeaders.Contains(name)).Order(StringComparer.OrdinalIgnoreCase).ToList() is { Count: > 0 } foreign)
        {
            // Header names only: values may be credentials.
            return "it carries headers the host's timer invocation never sends: " + string.Join(", ", foreign);
        }

        if (request.ContentLength is not null || !string.Equals(request.Headers.TransferEncoding.ToString(), "chunked", StringComparison.OrdinalIgnoreCase))
        {
            return "its body is not chunked (a forwarded request's body always has a Content-Length)";
        }

        if (string.IsNullOrEmpty(request.Headers["X-Azure-Functions-InvocationId"]) || string.IsNullOrEmpty(request.Headers["X-Azure-Functions-HostVersion"]))
        {
            return "it has no invocation id or host version";
        }

        return null;
    }

    /// <summary>
    /// Why the payload is not this timer's <c>{Data: {timer: …}, Metadata: {sys: {MethodName}}}</c>
    /// (<c>Workers/MessageExtensions/ScriptInvocationContextExtensions.cs:18-54</c>); null when it is.
    /// </summary>
    public static string? RefusalFromPayload(JsonElement payload, string functionName, string triggerName)
    {
        if (payload.ValueKind != JsonValueKind.Object
            || !payload.TryGetProperty("Data", out var data) || data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty(triggerName, out var timer) || timer.ValueKind != JsonValueKind.Object)
        {
            return $"its payload has no Data.{triggerName} object";
        }

        if (!payload.TryGetProperty("Metadata", out var metadata) || metadata.ValueKind != JsonValueKind.Object
            || !metadata.TryGetProperty("sys", out var sys) || sys.ValueKind != JsonValueKind.Object
            || !sys.TryGetProperty("MethodName", out var method) || method.ValueKind != JsonValueKind.String
            || !string.Equals(method.GetString(), functionName, StringComparison.Ordinal))
        {
            return $"its payload's Metadata.sys.MethodName is not {functionName}";
        }

        return null;
    }
}
