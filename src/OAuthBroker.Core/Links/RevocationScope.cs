namespace OAuthBroker.Links;

/// <summary>How far revoking one token reaches at a provider (<c>Providers:{id}:RevocationScope</c>).</summary>
public enum RevocationScope
{
    /// <summary>
    /// The token's own grant, as RFC 7009 §2.1 describes ("the authorization server ... SHOULD also invalidate all access
    /// tokens based on the same authorization grant"): a replaced grant can be revoked without touching the new one.
    /// The default.
    /// </summary>
    Grant,

    /// <summary>
    /// Every grant the user gave this client. Google keeps one OAuth 2.0 grant per user and client id and revoking any of
    /// its tokens removes it (Google Identity, "Revoke ID tokens": "Google uses an OAuth 2.0 grant to manage user consent
    /// ... with your platform's client ID"); Auth0 makes it a tenant setting ("Refresh tokens and grants"). Revoking a
    /// replaced grant there would end the new one, so the broker only erases it.
    /// </summary>
    UserAndClient,
}
