namespace OAuthBroker.Events;

/// <summary>
/// Event types, hierarchical and full-stop delimited from <c>[a-z_]</c> as Standard Webhooks recommends
/// (standard-webhooks/standard-webhooks <c>spec/standard-webhooks.md</c>, "Event types"). A type's payload schema never changes.
/// </summary>
public static class LinkEventTypes
{
    /// <summary>A user linked an account that was not linked.</summary>
    public const string Created = "link.created";

    /// <summary>A user linked an already linked account again: a fresh grant replaced the old one, the link is active.</summary>
    public const string Relinked = "link.relinked";

    /// <summary>The provider refused the refresh token, or a refresh's outcome stayed unknown: the user must connect again.</summary>
    public const string ReauthRequired = "link.reauth_required";

    /// <summary>A credential without a refresh token expired (WhiteBIT Fast API Key): the user must connect again.</summary>
    public const string Expired = "link.expired";

    /// <summary>The link was unlinked; <c>revocation</c> says what the provider did with the grant.</summary>
    public const string Deleted = "link.deleted";

    /// <summary>
    /// A pending WhiteBIT API key is ready: the user's key exists and its secret is vaulted; the link is active under the
    /// key's account id (announced with <see cref="Created"/> on the same row, in the same write).
    /// </summary>
    public const string WhiteBitKeyReady = "whitebit.key_ready";

    /// <summary>A pending WhiteBIT API key failed (<c>reason</c> says why): the pending link ends reauth_required; the user must connect again.</summary>
    public const string WhiteBitKeyFailed = "whitebit.key_failed";

    /// <summary>The provider rejected the broker's own client credentials: refreshes for the provider stop until <c>retry_at</c>.</summary>
    public const string ProviderCredentialsRejected = "provider.credentials_rejected";

    /// <summary>After a rejection, the provider accepted the broker's client credentials again.</summary>
    public const string ProviderCredentialsAccepted = "provider.credentials_accepted";

    public static IReadOnlyList<string> All { get; } = [Created, Relinked, ReauthRequired, Expired, Deleted, ProviderCredentialsRejected, ProviderCredentialsAccepted, WhiteBitKeyReady, WhiteBitKeyFailed];
}
