using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace OAuthBroker.Providers.Http;

/// <summary>
/// Sends one request to a provider and turns every transport outcome into a value: a bounded, parsed
/// response, or a <see cref="ProviderFailure"/> for timeouts, network errors and oversized bodies.
/// Bodies are never logged: a provider's unexpected answer may still carry a token.
/// </summary>
public sealed partial class ProviderHttpClient(IHttpClientFactory factory, ILogger<ProviderHttpClient> logger)
{
    /// <summary>The named <see cref="HttpClient"/> all provider calls use (timeout configured in DI).</summary>
    public const string HttpClientName = "OAuthBroker.Providers";

    /// <summary>Provider answers are small JSON documents; anything larger is refused rather than buffered.</summary>
    public const int MaxResponseBytes = 256 * 1024;

    /// <summary>
    /// Code of a failure that happened before the request could reach the provider: name resolution, connect, TLS or
    /// proxy tunnel (.NET's <see cref="HttpRequestError"/>), or any failure before the request's body began to be written
    /// (<see cref="RequestWriteWatch"/>). The provider cannot have acted on it, so it is safe to send again. Every other
    /// transport failure ("timeout", "network", "response_incomplete") leaves the outcome unknown.
    /// </summary>
    public const string NotSentCode = "connect_failed";

    /// <summary>
    /// Code of a timeout that ran out before the request's body began to be written: the connection (connect, TLS) was
    /// never up. SocketsHttpHandler reports its <c>ConnectTimeout</c> as a cancellation, indistinguishable by type from a
    /// timeout after sending, so the body's first write tells them apart.
    /// </summary>
    public const string ConnectTimeoutCode = "connect_timeout";

    /// <summary>A response whose body broke off while it was read (RFC 9112 §8: an incomplete message).</summary>
    public const string IncompleteResponseCode = "response_incomplete";

    private static readonly AsyncLocal<TimeSpan?> CallTimeout = new();

    /// <summary>
    /// Gives provider calls made inside the returned scope <paramref name="timeout"/> instead of
    /// <c>Broker:ProviderTimeout</c>: a refresh spends a rotating token, and an answer that arrives after the client gave up
    /// is lost, so refresh calls get the time they need (the refresh engine sets it, and budgets its lease for it).
    /// </summary>
    public static IDisposable WithCallTimeout(TimeSpan timeout)
    {
        var previous = CallTimeout.Value;
        CallTimeout.Value = timeout;
        return new Restore(previous);
    }

    public async Task<ProviderResult<ProviderResponse>> SendAsync(
        string providerId, string operation, HttpRequestMessage request, CT ct)
    {
        var http = factory.CreateClient(HttpClientName);
        if (CallTimeout.Value is { } timeout)
        {
            http.Timeout = timeout;
        }

        var watch = RequestWriteWatch.Current;
        WriteObservingContent? body = null;
        if (request.Content is { } content)
        {
            request.Content = body = new WriteObservingContent(content, watch);
        }
        else if (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head)
        {
            // No body whose first write could be seen: counted as reaching the server from the start.
            watch?.Reached();
        }

        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            byte[]? answer;
            try
            {
                answer = await ReadBoundedAsync(response.Content, ct);
            }
            catch (IOException)
            {
                // HttpIOException (ResponseEnded) and socket resets: the provider answered, then the body broke off.
                LogFailure(logger, providerId, operation, IncompleteResponseCode);
                return new ProviderFailure(ProviderFailureKind.Unavailable, IncompleteResponseCode,
                    $"The provider's {operation} response broke off before it was complete.");
            }

            if (answer is null)
            {
                LogFailure(logger, providerId, operation, "oversized_body");
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, "oversized_body",
                    $"The provider's {operation} response was larger than {MaxResponseBytes} bytes.");
            }

            return new ProviderResponse(response.StatusCode, TryParseJson(answer), RetryAfterOf(response),
                response.Headers.TryGetValues("Retry-After", out var raw) ? raw.FirstOrDefault() : null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Note: HttpClient.Timeout and SocketsHttpHandler.ConnectTimeout both surface as a cancellation that the
            // caller did not ask for; only the body's first write tells "never connected" from "sent, then no answer".
            var unsent = body is { WriteStarted: false };
            LogFailure(logger, providerId, operation, unsent ? ConnectTimeoutCode : "timeout");
            return new ProviderFailure(ProviderFailureKind.Unavailable, unsent ? ConnectTimeoutCode : "timeout",
                unsent ? $"The provider could not be connected to in time for the {operation} request; it was not sent."
                    : $"The provider did not answer the {operation} request in time.");
        }
        catch (HttpRequestException ex)
        {
            LogFailure(logger, providerId, operation, ex.HttpRequestError.ToString());
            var notSent = body is { WriteStarted: false } || ex.HttpRequestError is HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError
                or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError;
            return new ProviderFailure(ProviderFailureKind.Unavailable, notSent ? NotSentCode : "network",
                $"The provider could not be reached for the {operation} request.");
        }
    }

    private sealed class Restore(TimeSpan? previous) : IDisposable
    {
        public void Dispose() => CallTimeout.Value = previous;
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, CT ct)
    {
        if (content.Headers.ContentLength > MaxResponseBytes)
        {
            return null;
        }

        await using var stream = await content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxResponseBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static JsonDocument? TryParseJson(byte[] body)
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>RFC 9110 §10.2.3: seconds or an HTTP date; clamped, so a date in the past is no wait and a huge one a day.</summary>
    private static TimeSpan? RetryAfterOf(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return ProviderNumbers.Wait(delta);
        }

        return retryAfter?.Date is { } date ? ProviderNumbers.Wait(date - DateTimeOffset.UtcNow) : null;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Provider {ProviderId} {Operation} call failed before a usable answer: {Reason}")]
    private static partial void LogFailure(ILogger logger, string providerId, string operation, string reason);
}

/// <summary>A provider answer, already read (bounded) and parsed when it was JSON.</summary>
public sealed class ProviderResponse(HttpStatusCode status, JsonDocument? json, TimeSpan? retryAfter, string? rawRetryAfter = null) : IDisposable
{
    /// <summary>The Retry-After header as sent, for dialects that read it their own way (BuiltByBit: maybe milliseconds).</summary>
    public string? RawRetryAfter { get; } = rawRetryAfter;

    public HttpStatusCode Status { get; } = status;
    public JsonDocument? Json { get; } = json;
    public TimeSpan? RetryAfter { get; } = retryAfter;
    public bool IsSuccessStatus => (int)Status is >= 200 and < 300;

    /// <summary>
    /// The failure every dialect shares for an answer it cannot use: 429, 5xx, or a body that is not JSON.
    /// Null when the response deserves dialect-specific reading.
    /// </summary>
    public ProviderFailure? TransportFailure(string operation)
    {
        var status = (int)Status;
        if (status == 429)
        {
            return new ProviderFailure(ProviderFailureKind.RateLimited, "http_429",
                $"The provider rate-limited the {operation} request.", RetryAfter);
        }

        if (status >= 500)
        {
            return new ProviderFailure(ProviderFailureKind.Unavailable, $"http_{status}",
                $"The provider failed the {operation} request (HTTP {status}).", RetryAfter);
        }

        return Json is null
            ? new ProviderFailure(ProviderFailureKind.InvalidResponse, $"non_json_{status}",
                $"The provider answered the {operation} request with something that is not JSON (HTTP {status}).")
            : null;
    }

    public void Dispose() => Json?.Dispose();
}
