using System.Globalization;
using System.Net;
using System.Text.Json;
using OAuthBroker.Events;
using OAuthBroker.LocalKeyVault;

namespace OAuthBroker.LocalEnvironment;

/// <summary>
/// The platform's side of link events in the local run: an HTTPS webhook receiver on loopback (a self-signed
/// certificate the broker pins through <c>Events:LocalCertificatePath</c>, as it pins the local Key Vault endpoint's)
/// that does what docs/events.md asks of a receiver: verify every signature with the endpoint's <c>whsec_</c> secrets,
/// reject timestamps far from its clock, and deduplicate by <c>webhook-id</c>. It keeps the last
/// <see cref="Capacity"/> events in memory for the demo page.
/// </summary>
public sealed class DemoWebhookReceiver : IAsyncDisposable
{
    public const string Path = "/hooks";
    public const int Capacity = 50;

    /// <summary>
    /// How far a <c>webhook-timestamp</c> may be from this receiver's clock, either way. Standard Webhooks
    /// (standard-webhooks/standard-webhooks <c>spec/standard-webhooks.md</c> @03f5f8c, "Verifying signatures") asks
    /// receivers to reject timestamps outside "some allowable tolerance" against replay and leaves the value open; five
    /// minutes either way, bounds accepted, is its C# reference library's (same repository,
    /// <c>libraries/csharp/StandardWebhooks/Webhook.cs</c> @1e88c9c, lines 17 and 74-97).
    /// </summary>
    public static readonly TimeSpan TimestampTolerance = TimeSpan.FromMinutes(5);

    private const int MaxBodyBytes = 64 * 1024;

    private readonly IReadOnlyList<WebhookSecret> _secrets;
    private readonly TimeProvider _time;
    private readonly LinkedList<ReceivedEvent> _events = new();
    private readonly Lock _gate = new();
    private WebApplication? _app;

    private DemoWebhookReceiver(IReadOnlyList<WebhookSecret> secrets, TimeProvider time, Uri url, string certificatePath)
    {
        _secrets = secrets;
        _time = time;
        Url = url;
        CertificatePath = certificatePath;
    }

    /// <summary>Where the broker sends events (<c>Events:Endpoints:demo:Url</c>).</summary>
    public Uri Url { get; }

    /// <summary>PEM of the receiver's certificate, for the broker to pin.</summary>
    public string CertificatePath { get; }

    /// <param name="secretValue">The endpoint's vault value: one or more <c>whsec_</c> secrets, space-separated.</param>
    public static async Task<DemoWebhookReceiver> StartAsync(int port, string certificateDirectory, string secretValue, TimeProvider? time = null)
    {
        var secrets = WebhookSecret.ParseAll(secretValue) ?? throw new ArgumentException("Not a whsec_ secret list.", nameof(secretValue));
        var certificate = SelfSignedCertificate.LoadOrCreate(certificateDirectory);
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{port}{Path}"));
        var receiver = new DemoWebhookReceiver(secrets, time ?? TimeProvider.System, url, System.IO.Path.Combine(certificateDirectory, SelfSignedCertificate.CertificateFile));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate));
        });
        var app = builder.Build();
        app.MapPost(Path, (Func<HttpContext, Task<IResult>>)receiver.ReceiveAsync);
        await app.StartAsync();
        receiver._app = app;
        return receiver;
    }

    /// <summary>The events received, newest first.</summary>
    public IReadOnlyList<ReceivedEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var headers = context.Request.Headers;
        var verified = Record(headers[WebhookSigner.IdHeader].ToString(), headers[WebhookSigner.TimestampHeader].ToString(),
            headers[WebhookSigner.SignatureHeader].ToString(), buffer.ToArray());
        // A receiver answers 2xx only for what it accepted; anything else the sender retries (spec, "Delivery success
        // and failure"; docs/events.md).
        return verified ? Results.NoContent() : Results.Unauthorized();
    }

    /// <summary>
    /// Verifies and keeps one delivery; true when its signature and timestamp verified. A delivery without an id fails,
    /// as one missing any of the three headers does in the reference library (<c>Webhook.cs</c> @1e88c9c, lines 35-43);
    /// the signature check is <see cref="WebhookSigner.Verify"/>'s, one secret at a time ("Verifying signatures").
    /// </summary>
    private bool Record(string id, string timestamp, string signature, byte[] body)
    {
        var now = _time.GetUtcNow();
        var verified = id.Length > 0 && TimestampIsRecent(timestamp, now) && _secrets.Any(s => WebhookSigner.Verify(id, timestamp, body, signature, s));
        var parsed = TryRead(body);
        lock (_gate)
        {
            var seen = _events.First;
            while (seen is not null && seen.Value.Id != id)
            {
                seen = seen.Next;
            }

            // Deduplicated by webhook-id, the idempotency key ("Verifying signatures": "use the webhook-id header as an
            // idempotency key"), but only a verified delivery may stand for an id: an unverified one never hides, or
            // replaces, the real event.
            if (seen is not null && (seen.Value.Verified || !verified))
            {
                if (seen.Value.Verified == verified)
                {
                    seen.Value = seen.Value with { Deliveries = seen.Value.Deliveries + 1 };
                }

                return verified;
            }

            if (seen is not null)
            {
                _events.Remove(seen);
            }

            _events.AddFirst(new ReceivedEvent(id, parsed?.Type ?? "(unreadable body)", parsed?.ProviderId, parsed?.AccountId, parsed?.UserId,
                parsed?.OccurredAt, now, verified, Deliveries: 1));
            while (_events.Count > Capacity)
            {
                _events.RemoveLast();
            }
        }

        return verified;
    }

    private static bool TimestampIsRecent(string timestamp, DateTimeOffset now) =>
        long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
        && Math.Abs(now.ToUnixTimeSeconds() - seconds) <= TimestampTolerance.TotalSeconds;

    private static LinkEvent? TryRead(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return LinkEventJson.Read(document.RootElement);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(timeout.Token);
            await app.DisposeAsync();
        }
    }
}
