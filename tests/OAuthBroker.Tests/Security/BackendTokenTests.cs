using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using OAuthBroker.Host.Backends;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// A backend's bearer token is the backend's own. Entra ID can assign an app role to users too; their tokens carry the role
/// beside <c>scp</c> (delegated scopes, "Only included for user tokens") and, with the optional claim, <c>idtyp=user</c>.
/// Claims as Microsoft documents them (MicrosoftDocs/entra-docs access-token-claims-reference.md, optional-claims-reference.md).
/// These claim sets go straight to the authenticator; signed tokens from the sandbox issuer (a daemon's client-credentials
/// token, a user's) go through the bearer handler in CredentialEndpointTests.
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

    /// <summary>
    /// A user's ID token for a client whose id is the configured audience: the user's app roles, no <c>scp</c> (ID tokens
    /// never carry one), <c>oid</c> the user, <c>sub</c> a pairwise id (entra-docs id-token-claims-reference.md).
    /// Microsoft's app-only rule is <c>oid == sub</c> (scenario-protected-web-api-verification-scope-app-roles.md).
    /// </summary>
    [Fact]
    public void A_users_ID_token_carrying_the_role_is_refused()
    {
        Authenticate(("roles", "OAuthBroker.Backend"), ("aud", "platform-api"), ("oid", "user-1"), ("sub", "pairwise-1"), ("name", "A User"))
            .ShouldBeNull("no scp, but the subject is not the caller's own service principal");
        Authenticate(("roles", "OAuthBroker.Backend"), ("aud", "platform-api"), ("sub", "pairwise-1"))
            .ShouldBeNull("without oid there is nothing to show it is an app");
    }

    /// <summary>Issuers other than Entra put delegated scopes in <c>scope</c> (RFC 9068 §2.2.3): that is a user's token too.</summary>
    [Fact]
    public void A_token_with_a_scope_claim_is_a_users_whatever_else_it_says()
    {
        Authenticate(("roles", "OAuthBroker.Backend"), ("scope", "openid broker"), ("oid", "sp-1"), ("sub", "sp-1"))
            .ShouldBeNull();
    }

    [Fact]
    public void Idtyp_app_is_app_only_and_any_other_idtyp_is_not()
    {
        Authenticate(("roles", "OAuthBroker.Backend"), ("idtyp", "app"), ("azp", "daemon-client")).ShouldNotBeNull();
        Authenticate(("roles", "OAuthBroker.Backend"), ("idtyp", "device"), ("oid", "sp-1"), ("sub", "sp-1")).ShouldBeNull();
    }

    [Fact]
    public void No_credential_is_never_a_backend_under_the_host_or_not()
    {
        new BackendAuthenticator(Options.Create(new BackendOptions())).Authenticate(new DefaultHttpContext()).ShouldBeNull();
    }
}
