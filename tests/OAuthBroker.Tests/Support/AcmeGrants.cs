using OAuthBroker.Providers;
using OAuthBroker.Sandbox.Pages;

namespace OAuthBroker.Tests.Support;

/// <summary>Grants the OpenID Connect sandbox (Acme, realm <c>oidc:alpha</c>) issues outside a browser flow.</summary>
public static class AcmeGrants
{
    public const string Realm = "oidc:alpha";
    private const string ClientId = "sandbox-acme-client";

    /// <summary>A fresh grant for <paramref name="account"/>, as the provider issues it to a second authorization.</summary>
    public static ProviderGrant Issue(BrokerEnvironmentFixture fixture, string account)
    {
        var grants = fixture.Sandbox<StandardGrants>();
        var code = grants.IssueCode(Realm, ClientId, "http://127.0.0.1/cb", "openid profile", account, null, null, TimeSpan.FromMinutes(1));
        var (_, redeemed) = grants.Redeem(Realm, ClientId, code, null, null, requireRedirectUri: false);
        var (_, access, refresh) = grants.NewGrant(redeemed!, "oidc_", TimeSpan.FromHours(1));
        fixture.SeenSecrets.Add(code);
        return new ProviderGrant(account, null, new ProviderCredential { AccessToken = access, RefreshToken = refresh, AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, ["openid", "profile"]);
    }
}
