using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace OAuthBroker.Sandbox.Bybit;

/// <summary>Codes and grants the Bybit sandbox has issued. In memory: a restart forgets every grant.</summary>
public sealed class BybitSandboxState
{
    public ConcurrentDictionary<string, IssuedCode> Codes { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, Grant> Grants { get; } = new(StringComparer.Ordinal);

    /// <summary>Every access token, by value, to its grant.</summary>
    public ConcurrentDictionary<string, string> AccessTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>Every refresh token ever issued, by value, to its grant.</summary>
    public ConcurrentDictionary<string, string> RefreshTokens { get; } = new(StringComparer.Ordinal);

    public static string RandomToken(int bytes = 24) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    public sealed record IssuedCode(string ClientId, long Uid, string Scope, string RedirectUri, DateTimeOffset ExpiresAt, bool AccountWithout2Fa)
    {
        private int _used;

        /// <summary>Codes are single-use: exactly one caller gets true.</summary>
        public bool TryUse() => Interlocked.Exchange(ref _used, 1) == 0;
    }

    public sealed class Grant(string id, string clientId, long uid, string scope)
    {
        public string Id { get; } = id;
        public string ClientId { get; } = clientId;
        public long Uid { get; } = uid;
        public string Scope { get; } = scope;
        public string ApiKey { get; } = RandomToken(9).ToUpperInvariant();
        public string ApiSecret { get; } = RandomToken(18);
        public Lock Gate { get; } = new();
        /// <summary>The one refresh token that may be used next; older ones are superseded.</summary>
        public string CurrentRefreshToken { get; set; } = "";
        public DateTimeOffset RefreshTokenExpiresAt { get; set; }
        public Dictionary<string, DateTimeOffset> AccessTokenExpiry { get; } = new(StringComparer.Ordinal);
        /// <summary>Set when a superseded refresh token was presented: the whole grant is dead (RFC 9700 §4.14.2).</summary>
        public bool Revoked { get; set; }
        public int RefreshCount { get; set; }

        /// <summary>The consent page's "no 2FA" account: Bybit refuses it with 20039 (where: see No2FaRefusedAt).</summary>
        public bool AccountWithout2Fa { get; init; }
    }
}
