using Azure;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Errors;
using OAuthBroker.Sealing;

namespace OAuthBroker.Storage.Sealing;

/// <summary>
/// The sealing key ring from Key Vault: the versions of one secret (<see cref="SealingOptions.KeyVaultSecretName"/>),
/// each a key whose id is its version id, chosen by <see cref="SealingKeySchedule"/>. Loaded on first use (start-up
/// does not wait for the vault), then refreshed every <see cref="SealingKeySchedule.RefreshInterval"/> in the
/// background while the loaded ring keeps serving. Rotation is <c>az keyvault secret set</c> (a new version) with no
/// restart and no settings change; withdrawal is disabling a version.
/// <para>
/// Why not Key Vault references in app settings (<c>@Microsoft.KeyVault(...)</c>): the platform resolves them when the
/// app starts, and a versionless reference picks up a new version only "within 24 hours" (App Service, "Use Key Vault
/// references": rotation), so instances would seal with different keys under one id for up to a day; each step of a
/// rotation (add, make current, remove) would be a settings change and a restart of every instance; and withdrawing a
/// compromised key would wait for one too. Reading the versions here gives every key an id, lets a new one activate
/// only once every instance holds it, and withdraws a disabled one within one refresh.
/// </para>
/// </summary>
public sealed partial class KeyVaultSealingKeyRing(
    SecretClient client,
    IOptions<SealingOptions> options,
    TimeProvider time,
    ILogger<KeyVaultSealingKeyRing> logger) : ISealingKeyRing
{
    /// <summary>After a failed refresh the loaded ring keeps serving, and the vault is asked again this much later.</summary>
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(30);

    /// <summary>
    /// An id the ring does not hold may be a key another instance loaded first; the ring looks again, but not more often
    /// than this after its last load attempt, successful or not, so values with made-up key ids cannot turn into vault
    /// traffic (least of all while the vault is failing or throttling).
    /// </summary>
    public static readonly TimeSpan UnknownKeyLookupSpacing = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly string _secretName = options.Value.KeyVaultSecretName ?? throw new InvalidOperationException("Sealing:KeyVaultSecretName is not set.");
    private volatile Snapshot? _snapshot;
    private Task<Snapshot>? _refreshing;

    /// <summary>When the last load began (UTC ticks), whatever its outcome: unknown ids are looked up only this long after it.</summary>
    private long _lastLoadAttemptTicks = DateTimeOffset.MinValue.UtcTicks;

    private sealed record Snapshot(IReadOnlyDictionary<string, SealingKey> Keys, SealingKey Current, DateTimeOffset NextRefreshAt);

    public async ValueTask<SealingKey> GetCurrentAsync(CT ct) => (await GetAsync(ct)).Current;

    public async ValueTask<SealingKey?> FindAsync(string id, CT ct)
    {
        var snapshot = await GetAsync(ct);
        if (snapshot.Keys.TryGetValue(id, out var key))
        {
            return key;
        }

        if (time.GetUtcNow() - new DateTimeOffset(Interlocked.Read(ref _lastLoadAttemptTicks), TimeSpan.Zero) < UnknownKeyLookupSpacing)
        {
            return null;
        }

        return (await RefreshAsync(ct)).Keys.GetValueOrDefault(id);
    }

    /// <summary>The ids in the ring and the one that seals, as last loaded (for tests and diagnostics); loads first if needed.</summary>
    public async Task<(IReadOnlyCollection<string> Ids, string CurrentId)> DescribeAsync(CT ct)
    {
        var snapshot = await GetAsync(ct);
        return (snapshot.Keys.Keys.ToList(), snapshot.Current.Id);
    }

    /// <summary>Loads the versions now (one load at a time; concurrent callers share it).</summary>
    public async Task RefreshNowAsync(CT ct) => await RefreshAsync(ct);

    private ValueTask<Snapshot> GetAsync(CT ct)
    {
        var snapshot = _snapshot;
        if (snapshot is null)
        {
            return new ValueTask<Snapshot>(RefreshAsync(ct));
        }

        if (time.GetUtcNow() >= snapshot.NextRefreshAt)
        {
            // Stale while revalidating: this request keeps the loaded ring; the refresh runs on its own.
            _ = RefreshAsync(CT.None);
        }

        return ValueTask.FromResult(snapshot);
    }

    private Task<Snapshot> RefreshAsync(CT ct)
    {
        Task<Snapshot> refreshing;
        lock (_gate)
        {
            if (_refreshing is null || _refreshing.IsCompleted)
            {
                _refreshing = LoadAsync();
            }

            refreshing = _refreshing;
        }

        return refreshing.WaitAsync(ct);
    }

    /// <summary>Not the caller's token: one caller giving up must not fail the load others wait on.</summary>
    private async Task<Snapshot> LoadAsync()
    {
        var previous = _snapshot;
        var now = time.GetUtcNow();
        Interlocked.Exchange(ref _lastLoadAttemptTicks, now.UtcTicks);
        try
        {
            var versions = new List<SealingKeyVersion>();
            await foreach (var properties in client.GetPropertiesOfSecretVersionsAsync(_secretName, CT.None))
            {
                if (properties.Version is { } version && SealingKeyIds.IsValid(version))
                {
                    versions.Add(new SealingKeyVersion(version, properties.CreatedOn ?? DateTimeOffset.MaxValue, properties.Enabled ?? false, properties.NotBefore, properties.ExpiresOn));
                }
            }

            var (inRing, current) = SealingKeySchedule.Select(versions, now);
            var keys = new Dictionary<string, SealingKey>(StringComparer.Ordinal);
            foreach (var version in inRing)
            {
                if (previous?.Keys.GetValueOrDefault(version.Id) is { } known)
                {
                    keys[version.Id] = known;
                }
                else if (await ReadKeyAsync(version.Id) is { } loaded)
                {
                    keys[version.Id] = loaded;
                }
            }

            if (current is null || !keys.TryGetValue(current.Id, out var currentKey))
            {
                LogNoUsableKey(logger, _secretName);
                return Keep(previous, now) ?? throw new VaultUnavailableException($"The sealing key secret '{_secretName}' has no usable version.");
            }

            if (previous is null || previous.Current.Id != currentKey.Id || previous.Keys.Count != keys.Count)
            {
                LogLoaded(logger, keys.Count, currentKey.Id);
            }

            var snapshot = new Snapshot(keys, currentKey, now + SealingKeySchedule.RefreshInterval);
            _snapshot = snapshot;
            return snapshot;
        }
        catch (Exception ex) when (ex is RequestFailedException or AggregateException or OperationCanceledException)
        {
            var status = (ex as RequestFailedException)?.Status ?? 0;
            LogRefreshFailed(logger, _secretName, status, previous is not null);
            return Keep(previous, now) ?? throw new VaultUnavailableException(
                status == 404 ? $"The sealing key secret '{_secretName}' does not exist in the vault." : "The sealing keys could not be loaded from Key Vault.", ex);
        }
    }

    /// <summary>The loaded ring, served on after a failed refresh until the next attempt.</summary>
    private Snapshot? Keep(Snapshot? previous, DateTimeOffset now)
    {
        if (previous is null)
        {
            return null;
        }

        var kept = previous with { NextRefreshAt = now + RetryAfterFailure };
        _snapshot = kept;
        return kept;
    }

    private async Task<SealingKey?> ReadKeyAsync(string version)
    {
        var secret = (await client.GetSecretAsync(_secretName, version, CT.None)).Value;
        if (!SealingOptions.TryDecode(secret.Value ?? "", out var material))
        {
            // Note: the value is a secret; the log names the version, never its content.
            LogUndecodable(logger, _secretName, version);
            return null;
        }

        return new SealingKey(version, material);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sealing keys loaded from Key Vault: {Count} in the ring, version {CurrentId} seals")]
    private static partial void LogLoaded(ILogger logger, int count, string currentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sealing keys could not be refreshed from the Key Vault secret {SecretName} (HTTP {Status}); keeping the loaded ring: {HaveRing}")]
    private static partial void LogRefreshFailed(ILogger logger, string secretName, int status, bool haveRing);

    [LoggerMessage(Level = LogLevel.Error, Message = "The Key Vault secret {SecretName} has no enabled, valid version that decodes to a 32-byte key: nothing can be sealed. Add one: az keyvault secret set --name {SecretName} --value \"$(openssl rand -base64 32)\"")]
    private static partial void LogNoUsableKey(ILogger logger, string secretName);

    [LoggerMessage(Level = LogLevel.Error, Message = "Version {Version} of the Key Vault secret {SecretName} is not 32 bytes in base64 and is left out of the sealing key ring")]
    private static partial void LogUndecodable(ILogger logger, string secretName, string version);
}
