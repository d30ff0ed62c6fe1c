using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.LocalKeyVault;

namespace OAuthBroker.Tests.Events;

/// <summary>One webhook request as the receiver read it, body complete.</summary>
public sealed record ReceivedWebhook(string Id, string Timestamp, string Signature, byte[] Body, DateTimeOffset At)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A real HTTPS webhook receiver on a loopback port (Kestrel, a self-signed certificate the broker pins, as the local
/// Key Vault endpoint does). It records every request whose body it read completely, then answers as <see cref="Respond"/>
/// says; a request it read is recorded even when the sender gives up waiting for the answer, as a real server would
/// have processed it.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly X509Certificate2 _certificate;
    private WebApplication? _app;

    private WebhookReceiver(string directory, int port)
    {
        _certificate = SelfSignedCertificate.LoadOrCreate(directory);
        CertificatePath = Path.Combine(directory, SelfSignedCertificate.CertificateFile);
        Port = port;
    }

    public int Port { get; }
    public string CertificatePath { get; }
    public Uri Url => new(string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{Port}/hooks"));
    public ConcurrentQueue<ReceivedWebhook> Received { get; } = new();

    /// <summary>The answer's status for a request (may wait first). Default: 204.</summary>
    public Func<ReceivedWebhook, Task<int>> Respond { get; set; } = _ => Task.FromResult(204);

    /// <param name="sameCertificateAs">Another receiver whose certificate this one presents too (the broker pins one).</param>
    public static async Task<WebhookReceiver> StartAsync(WebhookReceiver? sameCertificateAs = null)
    {
        var directory = sameCertificateAs is null
            ? Path.Combine(Path.GetTempPath(), "oauth-broker-tests", "receiver-" + Guid.NewGuid().ToString("N"))
            : Path.GetDirectoryName(sameCertificateAs.CertificatePath)!;
        var receiver = new WebhookReceiver(directory, FreePort.Next());
        await receiver.StartAsync(CancellationToken.None);
        return receiver;
    }

    public async Task StartAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, Port, listen => listen.UseHttps(_certificate)));
        var app = builder.Build();
        app.MapPost("/hooks", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var received = new ReceivedWebhook(context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
                context.Request.Headers["webhook-signature"].ToString(), body.ToArray(), DateTimeOffset.UtcNow);
            Received.Enqueue(received);
            return Results.StatusCode(await Respond(received));
        });
        await app.StartAsync(ct);
        _app = app;
    }

    /// <summary>The receiver goes down: connections to its port are refused until it is started again.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _certificate.Dispose();
        try
        {
            Directory.Delete(Path.GetDirectoryName(CertificatePath)!, recursive: true);
        }
        catch (IOException)
        {
            // Temp folder; leaving it is harmless.
        }
    }
}
