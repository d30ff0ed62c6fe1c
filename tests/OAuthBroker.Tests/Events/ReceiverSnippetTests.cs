using System.Security.Cryptography;
using System.Text;
using OAuthBroker.Events;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// The receiver-side check that docs/events.md and the README offer platforms, run as written against signatures the
/// broker's <see cref="WebhookSigner"/> makes: a platform that copies it accepts what the broker sends and nothing else.
/// </summary>
public sealed class ReceiverSnippetTests
{
    /// <summary>The snippet as both documents print it; <see cref="Verify"/> below is the same code, compiled.</summary>
    private const string Snippet = """
        static bool Verify(string secret, string id, string timestamp, byte[] body, string signatures)
        {
            var key = Convert.FromBase64String(secret["whsec_".Length..]);
            byte[] signed = [.. Encoding.UTF8.GetBytes($"{id}.{timestamp}."), .. body];
            var expected = HMACSHA256.HashData(key, signed);
            return signatures.Split(' ').Any(s => s.StartsWith("v1,", StringComparison.Ordinal)
                && CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(s[3..]), expected));
        }
        """;

    private static bool Verify(string secret, string id, string timestamp, byte[] body, string signatures)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        byte[] signed = [.. Encoding.UTF8.GetBytes($"{id}.{timestamp}."), .. body];
        var expected = HMACSHA256.HashData(key, signed);
        return signatures.Split(' ').Any(s => s.StartsWith("v1,", StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(s[3..]), expected));
    }

    private static string NewSecret() => WebhookSecret.Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Theory]
    [InlineData("docs/events.md")]
    [InlineData("README.md")]
    public void The_document_prints_the_snippet_this_test_runs(string document)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), document)).ReplaceLineEndings("\n");
        text.ShouldContain(Snippet.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_snippet_accepts_the_brokers_signature_with_each_secret_and_nothing_altered()
    {
        var (current, previous, other) = (NewSecret(), NewSecret(), NewSecret());
        var e = new LinkEvent { Id = LinkEvents.NewId(), Type = LinkEventTypes.Created, OccurredAt = DateTimeOffset.UtcNow, ProviderId = "bybit", UserId = "alice" };
        var body = LinkEventJson.Serialize(e);
        const long timestamp = 1_795_000_000;
        var signatures = WebhookSigner.Sign(e.Id, timestamp, body, [WebhookSecret.TryParse(current)!, WebhookSecret.TryParse(previous)!]);
        var seconds = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Verify(current, e.Id, seconds, body, signatures).ShouldBeTrue();
        Verify(previous, e.Id, seconds, body, signatures).ShouldBeTrue();
        Verify(other, e.Id, seconds, body, signatures).ShouldBeFalse();
        Verify(current, e.Id, (timestamp + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), body, signatures).ShouldBeFalse();
        Verify(current, LinkEvents.NewId(), seconds, body, signatures).ShouldBeFalse();
        var tampered = body.ToArray();
        tampered[^3] ^= 1;
        Verify(current, e.Id, seconds, tampered, signatures).ShouldBeFalse();
    }
}
