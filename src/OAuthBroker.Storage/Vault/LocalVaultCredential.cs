using Azure.Core;

namespace OAuthBroker.Storage.Vault;

/// <summary>
/// The credential for the local Key Vault endpoint (development and tests only): answers the vault's bearer
/// challenge with the shared token that endpoint was started with. Never used against a real vault, where
/// the app authenticates with its managed identity.
/// </summary>
public sealed class LocalVaultCredential(string accessToken) : TokenCredential
{
    public override AccessToken GetToken(TokenRequestContext requestContext, CT cancellationToken) =>
        new(accessToken, DateTimeOffset.UtcNow.AddHours(1));

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CT cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
