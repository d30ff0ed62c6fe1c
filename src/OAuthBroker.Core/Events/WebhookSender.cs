using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Events;

/// <summary>
/// One delivery attempt: a signed POST of the event's JSON. Success is a 2xx answer, anything else a failure
/// (standard-webhooks/standard-webhooks <c>spec/standard-webhooks.md</c>, "Delivery success and failure"): a 3xx is not
/// followed, and a <c>410 Gone</c> means the receiver wants no more.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, TimeProvider time)
{
    public const string HttpClientName = "webhooks";

    /// <summary>Null when delivered; otherwise a short code saying why not (<c>http_503</c>, <c>timeout</c>, <c>gone</c>…).</summary>
    public async Task<string?> SendAsync(Uri url, LinkEvent e, IReadOnlyList<WebhookSecret> secrets, TimeSpan timeout, CT ct)
    {
        var body = LinkEventJson.Serialize(e);
        // The attempt's time, not the event's: a retry is signed afresh so receivers can bound replays ("Webhook metadata").
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(WebhookSigner.IdHeader, e.Id);
        request.Headers.TryAddWithoutValidation(WebhookSigner.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookSigner.SignatureHeader, WebhookSigner.Sign(e.Id, timestamp, body, secrets));

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            var status = (int)response.StatusCode;
            return status switch
            {
                >= 200 and < 300 => null,
                410 => "gone",
                _ => "http_" + status.ToString(CultureInfo.InvariantCulture),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return "timeout";
        }
        catch (HttpRequestException ex)
        {
            return ex.HttpRequestError switch
            {
                HttpRequestError.SecureConnectionError => "tls_failed",
                HttpRequestError.NameResolutionError => "name_not_resolved",
                HttpRequestError.ConnectionError => "connection_failed",
                _ => "request_failed",
            };
        }
    }

    internal static void Register(IServiceCollection services) =>
        services.AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var handler = new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    ConnectTimeout = TimeSpan.FromSeconds(10),
                };
                if (sp.GetRequiredService<IOptions<EventsOptions>>().Value.LocalCertificatePath is { } path)
                {
                    var pinned = X509Certificate2.CreateFromPem(File.ReadAllText(path));
                    handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                        errors == SslPolicyErrors.None || (certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawDataMemory.Span));
                }

                return handler;
            });
}
