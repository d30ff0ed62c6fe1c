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

    /// <summary>The provider rejected the broker's own client credentials: refreshes for the provider stop until <c>retry_at</c>.</summary>
    public const string ProviderCredentialsRejected = "provider.credentials_rejected";

    /// <summary>After a rejection, the provider accepted the broker's client credentials again.</summary>
    public const string ProviderCredentialsAccepted = "provider.credentials_accepted";

    public static IReadOnlyList<string> All { get; } = [Created, Relinked, ReauthRequired, Expired, Deleted, ProviderCredentialsRejected, ProviderCredentialsAccepted];
}
