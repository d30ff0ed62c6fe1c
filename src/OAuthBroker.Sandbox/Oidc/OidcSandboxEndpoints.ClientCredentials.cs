namespace OAuthBroker.Sandbox.Oidc;

/// <summary>
/// The client-credentials grant (RFC 6749 §4.4) as Microsoft Entra ID issues it to a daemon (Learn "Microsoft identity
/// platform and the OAuth 2.0 client credentials flow", MicrosoftDocs/entra-docs v2-oauth2-client-creds-grant-flow.md):
/// <list type="bullet">
/// <item>the request names the resource as <c>scope={resource}/.default</c>; any other scope is <c>invalid_scope</c>;</item>
/// <item>the answer is an access token only: "refresh_token ... not issued" (RFC 6749 §4.4.3: "A refresh token SHOULD NOT
/// be included");</item>
/// <item>the token's audience is the resource, its <c>roles</c> the application permissions granted to the client, and
/// it has no <c>scp</c> ("Only included for user tokens"); <c>sub</c> and <c>oid</c> are both the client's service
/// principal ("sub ... For app-only tokens, this is the object ID of the service principal", access-token-claims-reference.md),
/// <c>azp</c> the client id. <c>idtyp</c> is an optional claim Entra adds only when configured: not sent here, so a resource
/// server has to recognise the token by <c>oid == sub</c>.</item>
/// </list>
/// </summary>
public static partial class OidcSandboxEndpoints
{
    private const string DefaultScopeSuffix = "/.default";

    private static IResult ClientCredentials(HttpRequest request, string tenant, SandboxClient client, IFormCollection form, RsaSigner signer,
        IssuedSecrets issued, TimeProvider time, TimeSpan lifetime)
    {
        var scope = form["scope"].ToString();
        if (!scope.EndsWith(DefaultScopeSuffix, StringComparison.Ordinal) || scope.Contains(' ', StringComparison.Ordinal) || scope.Length == DefaultScopeSuffix.Length)
        {
            return Error(400, "invalid_scope", "The scope must be the resource's identifier with /.default.");
        }

        var now = time.GetUtcNow();
        var servicePrincipal = "sp-" + client.ClientId;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer(request, tenant),
            ["aud"] = scope[..^DefaultScopeSuffix.Length],
            ["sub"] = servicePrincipal,
            ["oid"] = servicePrincipal,
            ["azp"] = client.ClientId,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
        };
        if (client.AppRoles.Count > 0)
        {
            claims["roles"] = client.AppRoles.ToArray();
        }

        var token = signer.Sign(claims);
        issued.Add(token);
        return new NoStoreJson(new Dictionary<string, object>
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = (long)lifetime.TotalSeconds,
        }, 200);
    }
}
