using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Sealing;

/// <summary>
/// The key ring from configuration (<see cref="SealingOptions.Keys"/>), read once at start-up: rotation is by
/// configuration and restart. With no key configured on a developer's machine it holds one ephemeral key: sealed state
/// then does not survive a restart, which for state that lives minutes only costs a developer a retried click.
/// </summary>
public sealed partial class ConfiguredSealingKeyRing : ISealingKeyRing
{
    private const string EphemeralId = "ephemeral";

    private readonly Dictionary<string, SealingKey> _keys = new(StringComparer.Ordinal);

    public ConfiguredSealingKeyRing(IOptions<SealingOptions> options, ILogger<ConfiguredSealingKeyRing> logger)
    {
        var o = options.Value;
        foreach (var (id, value) in o.Keys)
        {
            // Validated at start-up; a value that does not decode here is a bug, not configuration.
            _ = SealingOptions.TryDecode(value, out var material);
            _keys[id] = new SealingKey(id, material);
        }

        if (_keys.Count == 0)
        {
            LogEphemeral(logger);
            _keys[EphemeralId] = new SealingKey(EphemeralId, RandomNumberGenerator.GetBytes(SealingKey.Length));
        }

        Current = _keys[o.CurrentKeyId ?? _keys.Keys.Single()];
        IsEphemeral = o.Keys.Count == 0;
    }

    public SealingKey Current { get; }

    /// <summary>True when no key was configured and the ring made its own for this process.</summary>
    public bool IsEphemeral { get; }

    public ValueTask<SealingKey> GetCurrentAsync(CT ct) => ValueTask.FromResult(Current);

    public ValueTask<SealingKey?> FindAsync(string id, CT ct) => ValueTask.FromResult(_keys.GetValueOrDefault(id));

    [LoggerMessage(Level = LogLevel.Warning, Message = "No sealing key is configured (Sealing:Keys or Sealing:KeyVaultSecretName): this developer machine uses an ephemeral key, so flows and pending links do not survive a restart")]
    private static partial void LogEphemeral(ILogger logger);
}
