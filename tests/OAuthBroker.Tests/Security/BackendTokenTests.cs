using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using OAuthBroker.Host.Backends;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// A backend's bearer token is the backend's own. Entra ID can assign an app role to users too; their tokens carry the role
/// beside <c>scp</c> (delegated scopes, "Only included for user tokens") and, with the optional claim, <c>idtyp=user</c>.
/// Claims as Microsoft documents them (MicrosoftDocs/entra-docs access-token-claims-reference.md, optional-claims-reference.md).
/// The sandbox issuer signs only user sign-ins, so the validated-token side of this is in CredentialEndpointTests and these
/// claim sets go straight to the authenticator.
/// </summary>
public sealed class BackendTokenTests
{
    private static BackendCaller? Authenticate(params (string Type, string Value)[] claims)
    {
        var context = new DefaultHttpContext
        {
            User = new ClaimsPrincipal(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), authenticationType: "Bearer")),
        };
        return new BackendAuthenticator(Options.Create(new BackendOptions())).Authenticate(context);
    }

    [Fact]
    public void An_app_only_token_with_the_role_is_a_backend()
    {
        Authenticate(("roles", "OAuthBroker.Backend"), ("azp", "daemon-client"), ("idtyp", "app"), ("oid", "sp-1"), ("sub", "sp-1"))
            .ShouldNotBeNull().Name.ShouldBe("app:daemon-client");
        // Without the optional idtyp claim configured, an app-only token simply has no scp.
        Authenticate(("roles", "OAuthBroker.Backend.bybit"), ("azp", "daemon-client"), ("oid", "sp-1"), ("sub", "sp-1"))
            .ShouldNotBeNull().Providers.ShouldBe(["bybit"]);
    }

    [Fact]
    public void A_users_token_carrying_the_role_is_refused()
    {
        Authenticate(("roles", "OAuthBroker.Backend"), ("scp", "access_as_user"), ("azp", "spa-client"), ("oid", "user-1"), ("sub", "pairwise-1"))
            .ShouldBeNull("a delegated token (scp) is a user's, whatever roles it carries");
        Authenticate(("roles", "OAuthBroker.Backend"), ("idtyp", "user"), ("azp", "spa-client"))
            .ShouldBeNull("idtyp=user says so outright");
    }

    [Fact]
    public void No_credential_is_never_a_backend_under_the_host_or_not()
    {
        new BackendAuthenticator(Options.Create(new BackendOptions())).Authenticate(new DefaultHttpContext()).ShouldBeNull();
    }
}
