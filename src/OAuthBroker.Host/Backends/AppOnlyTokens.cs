using System.Security.Claims;

namespace OAuthBroker.Host.Backends;

/// <summary>
/// A backend's bearer token must be the backend's own (client credentials), never a user's token that happens to carry
/// the role: Entra ID lets app roles be assigned to users too, and a user's <b>ID token</b> carries their roles with no
/// <c>scp</c> at all. The rule is Microsoft's (MicrosoftDocs/entra-docs, "Protected web API: Verify scopes and app roles",
/// scenario-protected-web-api-verification-scope-app-roles.md, section "Accepting app-only tokens if the web API should
/// be called only by daemon apps"): <c>bool isAppOnly = oid != null &amp;&amp; sub != null &amp;&amp; oid == sub;</c> — in an app-only
/// token the subject is the calling service principal itself. <c>idtyp</c>, when the optional claim is configured, "is
/// <c>app</c> when the token is an app-only token. This claim is the most accurate way for an API to determine if a token is
/// an app token or an app+user token" (optional-claims-reference.md, <c>idtyp</c> row). So:
/// <list type="bullet">
/// <item><c>idtyp</c> present: app-only exactly when it is <c>app</c>;</item>
/// <item>otherwise: no delegated scope (<c>scp</c>, "Only included for user tokens", access-token-claims-reference.md; nor
/// <c>scope</c>, the RFC 9068 §2.2.3 / RFC 8693 §4.2 name other issuers use), and <c>oid</c> present and equal to
/// <c>sub</c>.</item>
/// </list>
/// Claims are read by their JWT names: the bearer handler keeps them (<c>MapInboundClaims = false</c>).
/// </summary>
public static class AppOnlyTokens
{
    public static bool IsAppOnly(ClaimsPrincipal principal)
    {
        if (principal.FindFirst("idtyp")?.Value is { } tokenType)
        {
            return string.Equals(tokenType, "app", StringComparison.Ordinal);
        }

        if (principal.HasClaim(c => c.Type is "scp" or "scope" or "http://schemas.microsoft.com/identity/claims/scope"))
        {
            return false;
        }

        var objectId = principal.FindFirst("oid")?.Value;
        var subject = principal.FindFirst("sub")?.Value;
        return !string.IsNullOrEmpty(objectId) && string.Equals(objectId, subject, StringComparison.Ordinal);
    }
}
