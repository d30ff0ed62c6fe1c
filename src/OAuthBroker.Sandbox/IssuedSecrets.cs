using System.Collections.Concurrent;

namespace OAuthBroker.Sandbox;

/// <summary>
/// Every secret value the sandbox ever handed out or accepted as a credential (codes, tokens, API secrets,
/// client secrets). Tests search the broker's logs for each of them.
/// </summary>
public sealed class IssuedSecrets
{
    private readonly ConcurrentDictionary<string, byte> _values = new(StringComparer.Ordinal);

    public void Add(string value) => _values.TryAdd(value, 0);

    public IReadOnlyCollection<string> All => _values.Keys.ToArray();
}
