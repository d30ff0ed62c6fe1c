using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OAuthBroker.Events;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.LocalRun;

/// <summary>
/// The local run's webhook receiver over real HTTPS: a delivery signed with its secret is shown verified and counted once
/// per webhook-id; a tampered body, a stranger's secret or a stale timestamp is refused and shown as not verified, and
/// never hides the real event with the same id.
/// </summary>
public sealed class DemoWebhookReceiverTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "oauth-broker-tests", "demo-receiver-" + Guid.NewGuid().ToString("N"));
    private readonly string _secret = WebhookSecret.Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private DemoWebhookReceiver _receiver = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _receiver = await DemoWebhookReceiver.StartAsync(FreePort.Next(), _directory, _secret);
        var pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_receiver.CertificatePath));
        _http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == pinned.GetCertHashString() },
        });
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _receiver.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private static LinkEvent Event(string user) => new()
    {
        Id = Guid.CreateVersion7().ToString(),
        Type = LinkEventTypes.Created,
        OccurredAt = DateTimeOffset.UtcNow,
        ProviderId = "bybit",
        AccountId = "123456789",
        UserId = user,
        Status = "active",
    };

    private async Task<HttpStatusCode> PostAsync(string id, byte[] body, string signedWith, long? timestamp = null, byte[]? signedBody = null)
    {
        var at = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, _receiver.Url) { Content = new ByteArrayContent(body) };
        request.Headers.Add(WebhookSigner.IdHeader, id);
        request.Headers.Add(WebhookSigner.TimestampHeader, at.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSigner.SignatureHeader, WebhookSigner.Sign(id, at, signedBody ?? body, WebhookSecret.ParseAll(signedWith)!));
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_signed_delivery_is_verified_and_counted_once_per_webhook_id()
    {
        var e = Event("alice");
        var body = LinkEventJson.Serialize(e);

        (await PostAsync(e.Id, body, _secret)).ShouldBe(HttpStatusCode.NoContent);
        (await PostAsync(e.Id, body, _secret)).ShouldBe(HttpStatusCode.NoContent, "a retry of a delivered event is accepted again");

        var shown = _receiver.Events.ShouldHaveSingleItem();
        (shown.Id, shown.Type, shown.Provider, shown.AccountId, shown.UserId, shown.Verified, shown.Deliveries).ShouldBe((e.Id, "link.created", "bybit", "123456789", "alice", true, 2));
    }

    [Fact]
    public async Task A_tampered_body_is_refused_and_shown_as_not_verified_until_the_real_event_arrives()
    {
        var e = Event("bob");
        var body = LinkEventJson.Serialize(e);
        var tampered = LinkEventJson.Serialize(e with { UserId = "mallory" });

        (await PostAsync(e.Id, tampered, _secret, signedBody: body)).ShouldBe(HttpStatusCode.Unauthorized);
        var shown = _receiver.Events.ShouldHaveSingleItem();
        (shown.Id, shown.UserId, shown.Verified).ShouldBe((e.Id, "mallory", false));

        (await PostAsync(e.Id, body, _secret)).ShouldBe(HttpStatusCode.NoContent);
        shown = _receiver.Events.ShouldHaveSingleItem("the real event takes the id's place");
        (shown.UserId, shown.Verified, shown.Deliveries).ShouldBe(("bob", true, 1));

        (await PostAsync(e.Id, tampered, _secret, signedBody: body)).ShouldBe(HttpStatusCode.Unauthorized);
        shown = _receiver.Events.ShouldHaveSingleItem("a forged delivery never hides the verified event");
        (shown.UserId, shown.Verified, shown.Deliveries).ShouldBe(("bob", true, 1));
    }

    [Fact]
    public async Task A_strangers_secret_or_a_stale_timestamp_is_not_verified()
    {
        var stranger = Event("carol");
        var stale = Event("dave");
        var otherSecret = WebhookSecret.Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

        (await PostAsync(stranger.Id, LinkEventJson.Serialize(stranger), otherSecret)).ShouldBe(HttpStatusCode.Unauthorized);
        (await PostAsync(stale.Id, LinkEventJson.Serialize(stale), _secret, DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds())).ShouldBe(HttpStatusCode.Unauthorized);

        _receiver.Events.Count.ShouldBe(2);
        _receiver.Events.ShouldAllBe(r => !r.Verified);
    }
}
