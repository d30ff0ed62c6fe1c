namespace OAuthBroker.Providers.WhiteBit;

/// <summary>When WhiteBIT's tokens count as expired, for the key calls and unlink alike.</summary>
internal sealed class WhiteBitTokenClock(TimeProvider time)
{
    /// <summary>
    /// A 401 counts as "the access token ran out" only this close to its expiry. A 401 on a fresh token is the other
    /// documented cause — "token does not carry the apikeys.* scope" — which a refresh cannot cure, and retrying it
    /// after a refresh would loop.
    /// </summary>
    private static readonly TimeSpan ExpirySkew = TimeSpan.FromMinutes(1);

    public bool ExpiresSoon(ProviderCredential credential) => credential.AccessTokenExpiresAt <= time.GetUtcNow() + ExpirySkew;

    public bool HasLiveRefreshToken(ProviderCredential credential) =>
        credential.RefreshToken is not null && !(credential.RefreshTokenExpiresAt <= time.GetUtcNow());
}
