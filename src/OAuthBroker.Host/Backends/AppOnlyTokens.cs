using System.Security.Claims;

namespace OAuthBroker.Host.Backends;

/// <summary>
/// A backend's bearer token must be the backend's own (client credentials), never a user's token that happens to carry
/// the role: Entra ID lets app roles be assigned to users too. Microsoft identity platform (MicrosoftDocs/entra-docs):
/// <c>idtyp</c> "is <c>app</c> when the token is an app-only token. This claim is the most accurate way for an API to
/// determine if a token is an app token or an app+user token" (optional-claims-reference.md, <c>idtyp</c> row; emitted
/// for user tokens only with <c>include_user_token</c>), and <c>scp</c> is "Only included for user tokens"
/// (access-token-claims-reference.md, <c>scp</c> row). So: no <c>scp</c>, and <c>idtyp</c>, when present, <c>app</c>.
/// </summary>
public static class AppOnlyTokens
{
    public static bool IsAppOnly(ClaimsPrincipal principal) =>
        !principal.HasClaim(c => c.Type is "scp" or "http://schemas.microsoft.com/identity/claims/scope")
        && principal.FindFirst("idtyp")?.Value is null or "app";
}
