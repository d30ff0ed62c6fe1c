using OAuthBroker.Credentials;
using OAuthBroker.Providers;

namespace OAuthBroker.Links;

/// <summary>
/// What a pending link whose vaulted tokens are gone hands its provider when it ends: no token, expired from the start,
/// so <see cref="IDeferredAuthorization.AbandonAsync"/> calls nothing and only answers from the flow's progress whether
/// something the flow created may be left (WhiteBIT: a key that appeared after its first look), and the link's reason
/// tells the user to delete it rather than only to connect again.
/// </summary>
internal static class TokenlessPending
{
    public static VaultedCredential For(AccountLink leased) =>
        new(leased.ProviderId, new ProviderCredential { AccessToken = "", AccessTokenExpiresAt = DateTimeOffset.MinValue }, DateTimeOffset.MinValue);
}
