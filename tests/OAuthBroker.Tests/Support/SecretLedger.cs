using System.Collections.Concurrent;

namespace OAuthBroker.Tests.Support;

/// <summary>Secret values a test saw (state, codes, vault contents) and that must never show up in a log line.</summary>
public sealed class SecretLedger
{
    private readonly ConcurrentDictionary<string, byte> _values = new(StringComparer.Ordinal);

    public void Add(string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            _values.TryAdd(value, 0);
        }
    }

    public IReadOnlyCollection<string> All => _values.Keys.ToArray();
}

public static class LogAssertions
{
    public static void ContainNone(IReadOnlyCollection<string> lines, IEnumerable<string> secrets)
    {
        var leaks = secrets
            .Where(secret => secret.Length >= 8)
            .SelectMany(secret => lines.Where(line => line.Contains(secret, StringComparison.Ordinal)).Select(line => (secret, line)))
            .Take(5)
            .ToList();
        // The report itself must not print the secret: it is cut out of the line and only its first characters named.
        leaks.Count.ShouldBe(0, "secret values appeared in logs: " + string.Join(" || ", leaks.Select(l =>
            $"[{l.secret[..4]}…] in: {Shorten(l.line.Replace(l.secret, "<SECRET>", StringComparison.Ordinal))}")));
    }

    private static string Shorten(string line) => line.Length <= 300 ? line : line[..300];
}
