namespace OAuthBroker.Links;

/// <summary>
/// The states a link can be in; each says what the user or operator must do, if anything. Transitions are documented
/// in docs/link-states.md. "Refreshing" is not stored: it is an active link whose refresh lease is held.
/// </summary>
public enum LinkStatus
{
    /// <summary>Credential vaulted and believed valid; kept fresh by the sweep. Nothing to do.</summary>
    Active,
    /// <summary>
    /// The provider rejected the refresh token (invalid_grant, after one retry with the newest), the credential is
    /// missing, or a refresh's outcome stayed unknown until the access token expired: the user must connect again.
    /// </summary>
    ReauthRequired,
    /// <summary>The provider issues no refresh token (WhiteBIT Fast API Key) and the access token has expired: the user must connect again.</summary>
    Expired,
    /// <summary>An unlink got a definite revocation outcome and started erasing, but did not finish: unlink again to finish.</summary>
    Unlinking,
    /// <summary>
    /// The user confirmed the link, but what it needs does not exist at the provider yet (WhiteBIT Fast API Key: the
    /// user's key, created after the code exchange, or its secret locked by a 423). Scheduled work continues it at
    /// <see cref="AccountLink.NextRefreshAt"/>; it becomes a link for the key's account, or ends
    /// <see cref="ReauthRequired"/> with the reason in <see cref="AccountLink.LastFailure"/>. Its account id is a
    /// placeholder (<c>pending-…</c>) until then. Nothing to do but wait (or unlink to give up).
    /// </summary>
    PendingKey,
}
