using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace OAuthBroker.Sandbox.Pages;

/// <summary>
/// Authorization codes and grants for the dialects built on RFC 6749 (BuiltByBit, WhiteBIT, generic OAuth 2.0 / OpenID
/// Connect): single-use codes bound to client, redirect URI and PKCE challenge (RFC 6749 §4.1.2, §10.5; RFC 7636 §4.6);
/// grants whose refresh token rotates or not, may expire, and whose reuse after rotation kills the grant or only fails
/// (<see cref="RefreshRules"/>: the providers leave these open, so each dialect passes its switches).
/// </summary>
public sealed class StandardGrants(IssuedSecrets issued, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Code> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Grant> _byAccessToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Grant> _byRefreshToken = new(StringComparer.Ordinal);

    public sealed record Code(string Realm, string ClientId, string RedirectUri, string Scope, string Account, string? Challenge, string? Nonce, DateTimeOffset ExpiresAt)
    {
        private int _used;

        public bool TryUse() => Interlocked.Exchange(ref _used, 1) == 0;
    }

    public sealed class Grant(string realm, string clientId, string account, string scope)
    {
        public string Realm { get; } = realm;
        public string ClientId { get; } = clientId;
        public string Account { get; } = account;
        public string Scope { get; } = scope;
        public Lock Gate { get; } = new();
        public string CurrentRefreshToken { get; set; } = "";
        public DateTimeOffset? CurrentRefreshTokenExpiresAt { get; set; }
        public Dictionary<string, DateTimeOffset> AccessTokens { get; } = new(StringComparer.Ordinal);
        public bool Revoked { get; set; }
    }

    public enum CodeCheck
    {
        Ok,
        Invalid,
        RedirectMismatch,
        PkceFailed,
    }

    public string IssueCode(string realm, string clientId, string redirectUri, string scope, string account, string? challenge, string? nonce, TimeSpan lifetime)
    {
        var code = Random(24);
        issued.Add(code);
        _codes[code] = new Code(realm, clientId, redirectUri, scope, account, challenge, nonce, time.GetUtcNow() + lifetime);
        return code;
    }

    /// <summary>Redeems a code: single use, same client and realm, same redirect URI if sent, PKCE verified if a challenge was sent.</summary>
    public (CodeCheck Result, Code? Code) Redeem(string realm, string clientId, string? code, string? redirectUri, string? verifier, bool requireRedirectUri)
    {
        if (code is null || !_codes.TryGetValue(code, out var issuedCode) || issuedCode.Realm != realm || issuedCode.ClientId != clientId || !issuedCode.TryUse() || time.GetUtcNow() > issuedCode.ExpiresAt)
        {
            return (CodeCheck.Invalid, null);
        }

        if ((requireRedirectUri || redirectUri is not null) && redirectUri != issuedCode.RedirectUri)
        {
            return (CodeCheck.RedirectMismatch, null);
        }

        if (issuedCode.Challenge is not null && (verifier is null || Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) != issuedCode.Challenge))
        {
            return (CodeCheck.PkceFailed, null);
        }

        return (CodeCheck.Ok, issuedCode);
    }

    public (Grant Grant, string AccessToken, string RefreshToken) NewGrant(Code code, string tokenPrefix, TimeSpan accessLifetime, RefreshRules? rules = null)
    {
        var grant = new Grant(code.Realm, code.ClientId, code.Account, code.Scope);
        lock (grant.Gate)
        {
            var (access, refresh) = Rotate(grant, tokenPrefix, accessLifetime, rules ?? RefreshRules.Default, newRefreshToken: true);
            return (grant, access, refresh);
        }
    }

    /// <summary>Refresh by the dialect's <paramref name="rules"/>: rotation or not, an expiring refresh token, reuse detection.</summary>
    public (Grant Grant, string AccessToken, string RefreshToken)? Refresh(string realm, string clientId, string? refreshToken, string tokenPrefix, TimeSpan accessLifetime, RefreshRules? rules = null)
    {
        rules ??= RefreshRules.Default;
        if (refreshToken is null || !_byRefreshToken.TryGetValue(refreshToken, out var grant) || grant.Realm != realm || grant.ClientId != clientId)
        {
            return null;
        }

        lock (grant.Gate)
        {
            if (grant.Revoked)
            {
                return null;
            }

            if (grant.CurrentRefreshToken != refreshToken)
            {
                // RFC 9700 §4.14.2: a refresh token used after rotation signals a replay; the grant ends when the rules say so.
                grant.Revoked = rules.ReuseRevokesGrant;
                return null;
            }

            if (time.GetUtcNow() > grant.CurrentRefreshTokenExpiresAt)
            {
                return null;
            }

            var (access, refresh) = Rotate(grant, tokenPrefix, accessLifetime, rules, newRefreshToken: rules.Rotate);
            return (grant, access, refresh);
        }
    }

    public Grant? Authenticate(string realm, string? bearer)
    {
        if (bearer is null || !_byAccessToken.TryGetValue(bearer, out var grant) || grant.Realm != realm)
        {
            return null;
        }

        lock (grant.Gate)
        {
            return !grant.Revoked && grant.AccessTokens.TryGetValue(bearer, out var expires) && time.GetUtcNow() <= expires ? grant : null;
        }
    }

    /// <summary>RFC 7009: revoking either token of a grant ends the grant. Unknown tokens are not an error.</summary>
    public bool Revoke(string realm, string clientId, string token)
    {
        var grant = _byRefreshToken.GetValueOrDefault(token) ?? _byAccessToken.GetValueOrDefault(token);
        if (grant is null || grant.Realm != realm || grant.ClientId != clientId)
        {
            return false;
        }

        lock (grant.Gate)
        {
            grant.Revoked = true;
        }

        return true;
    }

    public bool IsRefreshToken(string token) => _byRefreshToken.ContainsKey(token);

    public bool IsRevoked(string accessToken) => _byAccessToken.TryGetValue(accessToken, out var grant) && grant.Revoked;

    private (string Access, string Refresh) Rotate(Grant grant, string prefix, TimeSpan accessLifetime, RefreshRules rules, bool newRefreshToken)
    {
        var access = prefix + "at_" + Random(20);
        issued.Add(access);
        grant.AccessTokens[access] = time.GetUtcNow() + accessLifetime;
        _byAccessToken[access] = grant;
        if (newRefreshToken)
        {
            var refresh = prefix + "rt_" + Random(20);
            issued.Add(refresh);
            grant.CurrentRefreshToken = refresh;
            grant.CurrentRefreshTokenExpiresAt = rules.RefreshLifetime is { } lifetime ? time.GetUtcNow() + lifetime : null;
            _byRefreshToken[refresh] = grant;
        }

        return (access, grant.CurrentRefreshToken);
    }

    private static string Random(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    /// <param name="RefreshLifetime">How long a refresh token lives from its issue; null: until the grant ends.</param>
    /// <param name="Rotate">Whether every refresh issues a new refresh token.</param>
    /// <param name="ReuseRevokesGrant">Whether presenting a rotated-away refresh token ends the whole grant.</param>
    public sealed record RefreshRules(TimeSpan? RefreshLifetime = null, bool Rotate = true, bool ReuseRevokesGrant = true)
    {
        public static readonly RefreshRules Default = new();
    }
}
