using System.Collections.Concurrent;
using OAuthBroker.Sandbox.Pages;

namespace OAuthBroker.Sandbox.WhiteBit;

public static partial class WhiteBitSandboxEndpoints
{
    /// <summary>
    /// The WhiteBIT sandbox's API keys. "One active OAuth-issued API key per (user, partner) pair. A second creation attempt
    /// returns an error and the consent flow terminates" (fast-api-key-integration, Limits; the same in fast-api-key-via-oauth):
    /// a key belongs to an account and a client, and a new one is created only when the pair has none.
    /// </summary>
    public sealed class State
    {
        private readonly Lock _gate = new();

        public ConcurrentDictionary<string, Key> KeysById { get; } = new(StringComparer.Ordinal);

        /// <summary>The newest-reading key creation: when the user of a grant finishes creating the key (step 0.6).</summary>
        public ConcurrentDictionary<StandardGrants.Grant, DateTimeOffset> KeyDueAt { get; } = new();

        /// <summary>
        /// Grants whose user has not finished creating the key (<see cref="WhiteBitSandboxOptions.KeyCreatedAfter"/> is
        /// <see cref="TimeSpan.MaxValue"/>): fast-api-key-integration step 0.6 happens when the test says so.
        /// </summary>
        public ConcurrentDictionary<StandardGrants.Grant, byte> KeyCreationStarted { get; } = new();

        /// <summary>
        /// The user of <paramref name="account"/> finishes step 0.6 now ("Select key permissions, confirm with 2FA ... Create
        /// the partner key"): the key exists from the next <c>/info</c> on. Returns how many grants it applied to.
        /// </summary>
        public int FinishKeyCreation(string account, DateTimeOffset now)
        {
            var started = KeyCreationStarted.Keys.Where(g => g.Account == account).ToArray();
            foreach (var grant in started)
            {
                KeyCreationStarted.TryRemove(grant, out _);
                KeyDueAt[grant] = now;
            }

            return started.Length;
        }

        /// <summary>The refresh endpoint's 1 request/s, per client address (the App Builders FAQ: "REST rate limits are enforced per IP address").</summary>
        public ConcurrentDictionary<string, DateTimeOffset> LastRefreshByAddress { get; } = new(StringComparer.Ordinal);

        /// <summary>The pair's key that is not deleted (enabled or disabled), if any.</summary>
        public Key? KeyOf(string account, string clientId) =>
            KeysById.Values.Where(k => k.Account == account && k.ClientId == clientId && !k.Deleted).OrderByDescending(k => k.CreatedAt).FirstOrDefault();

        /// <summary>Creates a key for the pair unless it has one already (active or disabled: both block a new key).</summary>
        public Key? TryCreate(string account, string clientId, bool enabled, bool countsPolls, DateTimeOffset now, IssuedSecrets issued)
        {
            lock (_gate)
            {
                if (KeyOf(account, clientId) is not null)
                {
                    return null;
                }

                var secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
                issued.Add(secret);
                var key = new Key(Guid.NewGuid().ToString(), account, clientId, secret, enabled, countsPolls, now);
                KeysById[key.ExternalId] = key;
                return key;
            }
        }

        public sealed class Key(string externalId, string account, string clientId, string secret, bool enabled, bool countsPolls, DateTimeOffset createdAt)
        {
            private int _polls;
            private int _secretReads;

            public string ExternalId { get; } = externalId;
            public string Account { get; } = account;
            public string ClientId { get; } = clientId;
            public string Secret { get; } = secret;
            public DateTimeOffset CreatedAt { get; } = createdAt;

            /// <summary>The older guide's key "appears shortly after": visible from a poll on (see KeyReadyAfterPolls).</summary>
            public bool CountsPolls { get; } = countsPolls;

            /// <summary>False once WhiteBIT disabled it ("14 days without use", fast-api-key-integration, Lifecycle).</summary>
            public bool Enabled { get; set; } = enabled;

            public bool Deleted { get; set; }

            public int Poll() => Interlocked.Increment(ref _polls);

            public int ReadSecret() => Interlocked.Increment(ref _secretReads);
        }
    }
}
