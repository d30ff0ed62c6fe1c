using System.Net;
using Microsoft.Extensions.Options;
using OAuthBroker.Sandbox.Pages;

namespace OAuthBroker.Sandbox.Oidc;

/// <summary>
/// A standards-conformant OAuth 2.0 / OpenID Connect server per tenant, for the generic provider: metadata at both
/// well-known locations (OpenID Connect Discovery §4, RFC 8414 §3), PKCE S256 required, exact redirect URIs (never a
/// redirect to an unregistered one, RFC 6749 §4.1.2.1), single-use codes bound to client, redirect URI and challenge,
/// <c>client_secret_basic</c> (RFC 6749 §2.3.1 decoding) or <c>client_secret_post</c>, RS256 ID tokens with nonce (and,
/// per tenant, extra audiences and azp, Core §2), rotating refresh tokens, RFC 9207 <c>iss</c>, userinfo with the ID
/// token's <c>sub</c> (Core §5.3.2) and RFC 7009 revocation with its documented error answers.
/// </summary>
public static partial class OidcSandboxEndpoints
{
    public const string Prefix = "/oidc/{tenant}";

    public static void MapOidcSandbox(this IEndpointRouteBuilder root)
    {
        var app = root.MapGroup(Prefix);
        app.MapGet("/.well-known/openid-configuration", (string tenant, HttpRequest request, IOptions<SandboxOptions> options) =>
            Discovery(tenant, request, options, MetadataDocuments.OpenIdConfigurationOnly));
        // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path component.
        root.MapGet("/.well-known/oauth-authorization-server/oidc/{tenant}", (string tenant, HttpRequest request, IOptions<SandboxOptions> options) =>
            Discovery(tenant, request, options, MetadataDocuments.AuthorizationServerOnly));
        app.MapGet("/authorize", Authorize);
        app.MapPost("/consent", Consent).DisableAntiforgery();
        app.MapPost("/token", Token).DisableAntiforgery();
        app.MapGet("/userinfo", Userinfo);
        app.MapPost("/revoke", Revoke).DisableAntiforgery();
        app.MapGet("/jwks", (RsaSigner signer) => TypedResults.Json(signer.Jwks()));
    }

    private static string Issuer(HttpRequest request, string tenant) => $"{request.Scheme}://{request.Host}/oidc/{tenant}";

    private static IResult Discovery(string tenant, HttpRequest request, IOptions<SandboxOptions> options, MetadataDocuments document)
    {
        if (!options.Value.Oidc.Tenants.TryGetValue(tenant, out var settings) || (settings.Metadata != MetadataDocuments.Both && settings.Metadata != document))
        {
            return TypedResults.NotFound();
        }

        var issuer = Issuer(request, tenant);
        return TypedResults.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["authorization_endpoint"] = issuer + "/authorize",
            ["token_endpoint"] = issuer + "/token",
            ["userinfo_endpoint"] = issuer + "/userinfo",
            ["revocation_endpoint"] = issuer + "/revoke",
            ["jwks_uri"] = issuer + "/jwks",
            ["response_types_supported"] = new[] { "code" },
            ["grant_types_supported"] = new[] { "authorization_code", "refresh_token", "client_credentials" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post" },
            ["revocation_endpoint_auth_methods_supported"] = settings.RevocationAuthMethods switch
            {
                ClientAuthMethods.BasicOnly => new[] { "client_secret_basic" },
                ClientAuthMethods.PostOnly => new[] { "client_secret_post" },
                _ => new[] { "client_secret_basic", "client_secret_post" },
            },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            ["scopes_supported"] = new[] { "openid", "profile", "email", "offline_access" },
            ["authorization_response_iss_parameter_supported"] = settings.IssParameter,
        });
    }

    private static IResult Authorize(string tenant, HttpRequest request, IOptions<SandboxOptions> options)
    {
        var query = request.Query;
        if (!options.Value.Oidc.Tenants.TryGetValue(tenant, out var settings))
        {
            return TypedResults.NotFound();
        }

        var client = settings.Clients.FirstOrDefault(c => c.ClientId == query["client_id"]);
        var redirectUri = query["redirect_uri"].ToString();
        // RFC 6749 §4.1.2.1: with an unknown client or an unregistered redirect URI the server must not redirect.
        if (client is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return ConsentPage.Error("Unknown client_id or a redirect_uri that is not registered exactly.");
        }

        string? error = query["response_type"] != "code" ? "unsupported_response_type"
            : string.IsNullOrEmpty(query["code_challenge"]) || query["code_challenge_method"] != "S256" ? "invalid_request"
            : null;
        if (error is not null)
        {
            return TypedResults.Redirect(Append(redirectUri, ("error", error), ("state", query["state"]), ("iss", settings.IssParameter ? Issuer(request, tenant) : null)));
        }

        return ConsentPage.Render($"OpenID Connect ({tenant})", client.ClientId, query["scope"].ToString(), $"/oidc/{tenant}/consent",
            new Dictionary<string, string?>
            {
                ["client_id"] = client.ClientId,
                ["redirect_uri"] = redirectUri,
                ["scope"] = query["scope"],
                ["state"] = query["state"],
                ["nonce"] = query["nonce"],
                ["code_challenge"] = query["code_challenge"],
            },
            "user-" + Random.Shared.Next(1000, 9999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "    <label>App roles (space-separated, for backend tokens) <input name=\"roles\" id=\"roles\" value=\"\"></label>\n");
    }

    private static async Task<IResult> Consent(string tenant, HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants)
    {
        var form = await request.ReadFormAsync();
        if (!options.Value.Oidc.Tenants.TryGetValue(tenant, out var settings))
        {
            return TypedResults.NotFound();
        }

        var client = settings.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        var redirectUri = form["redirect_uri"].ToString();
        if (client is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return ConsentPage.Error("Consent form does not match a registered client.");
        }

        var iss = settings.IssParameter ? Issuer(request, tenant) : null;
        if (form["action"] != "approve")
        {
            return TypedResults.Redirect(Append(redirectUri, ("error", "access_denied"), ("state", form["state"]), ("iss", iss)));
        }

        // App roles ride along in the account field ("account|role1 role2"), as Entra ID puts them in "roles".
        var account = string.IsNullOrWhiteSpace(form["roles"]) ? form["account"].ToString() : form["account"] + "|" + form["roles"];
        var code = grants.IssueCode("oidc:" + tenant, client.ClientId, redirectUri, form["scope"].ToString(), account,
            form["code_challenge"].ToString(), string.IsNullOrEmpty(form["nonce"]) ? null : form["nonce"].ToString(), TimeSpan.FromMinutes(5));
        return TypedResults.Redirect(Append(redirectUri, ("code", code), ("state", form["state"]), ("iss", iss)));
    }

    private static async Task<IResult> Token(string tenant, HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, RsaSigner signer, IssuedSecrets issued, TimeProvider time)
    {
        if (!options.Value.Oidc.Tenants.TryGetValue(tenant, out var settings))
        {
            return TypedResults.NotFound();
        }

        var form = await request.ReadFormAsync();
        var client = AuthenticateClient(request, form, settings.Clients, ClientAuthMethods.Both, out var clientError);
        if (client is null)
        {
            return ClientError(request, clientError!);
        }

        var realm = "oidc:" + tenant;
        var lifetime = options.Value.Oidc.AccessTokenLifetime;
        switch (form["grant_type"].ToString())
        {
            case "authorization_code":
                var (check, code) = grants.Redeem(realm, client.ClientId, Value(form["code"]), Value(form["redirect_uri"]), Value(form["code_verifier"]), requireRedirectUri: true);
                if (check != StandardGrants.CodeCheck.Ok)
                {
                    return Error(400, "invalid_grant", check.ToString());
                }

                var (grant, access, refresh) = grants.NewGrant(code!, "oidc_", lifetime);
                string? idToken = null;
                if (code!.Scope.Split(' ').Contains("openid"))
                {
                    var now = time.GetUtcNow();
                    var (subject, roles) = SubjectOf(grant);
                    var claims = new Dictionary<string, object>
                    {
                        ["iss"] = Issuer(request, tenant),
                        ["sub"] = subject,
                        // Core §2: aud "MUST contain the OAuth 2.0 client_id ... It MAY also contain identifiers for other audiences".
                        ["aud"] = settings.ExtraAudiences.Count == 0 ? client.ClientId : new[] { client.ClientId }.Concat(settings.ExtraAudiences).ToArray(),
                        ["iat"] = now.ToUnixTimeSeconds(),
                        ["exp"] = (now + TimeSpan.FromMinutes(10)).ToUnixTimeSeconds(),
                    };
                    if ((settings.AuthorizedParty ?? (settings.ExtraAudiences.Count > 0 ? client.ClientId : null)) is { } azp)
                    {
                        claims["azp"] = azp;
                    }

                    if (settings.NameInIdToken)
                    {
                        claims["name"] = "Sandbox " + subject;
                    }
                    if (code.Nonce is not null)
                    {
                        claims["nonce"] = code.Nonce;
                    }

                    if (roles.Length > 0)
                    {
                        claims["roles"] = roles;
                    }

                    idToken = signer.Sign(claims);
                    issued.Add(idToken);
                }

                return Tokens(access, refresh, code.Scope, lifetime, idToken);
            case "refresh_token":
                var refreshed = grants.Refresh(realm, client.ClientId, Value(form["refresh_token"]), "oidc_", lifetime);
                return refreshed is { } r ? Tokens(r.AccessToken, r.RefreshToken, r.Grant.Scope, lifetime, null) : Error(400, "invalid_grant");
            case "client_credentials":
                return ClientCredentials(request, tenant, client, form, signer, issued, time, lifetime);
            default:
                return Error(400, "unsupported_grant_type");
        }
    }

    private static IResult Userinfo(string tenant, HttpRequest request, StandardGrants grants)
    {
        var header = request.Headers.Authorization.ToString();
        var grant = header.StartsWith("Bearer ", StringComparison.Ordinal) ? grants.Authenticate("oidc:" + tenant, header["Bearer ".Length..]) : null;
        if (grant is null)
        {
            return new ChallengeResult("Bearer error=\"invalid_token\"");
        }

        // Core §5.3.2: "The sub Claim in the UserInfo Response MUST be verified to exactly match the sub Claim in the ID Token".
        var (subject, _) = SubjectOf(grant);
        return TypedResults.Json(new { sub = subject, name = "Sandbox " + subject, preferred_username = subject, profile = new { id = "p-" + subject } });
    }

    /// <summary>App roles ride along in the account field ("account|role1 role2"); the subject is the account alone.</summary>
    private static (string Subject, string[] Roles) SubjectOf(StandardGrants.Grant grant) =>
        grant.Account.Split('|') is [var who, var assigned] ? (who, assigned.Split(' ', StringSplitOptions.RemoveEmptyEntries)) : (grant.Account, []);

    private static async Task<IResult> Revoke(string tenant, HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants)
    {
        if (!options.Value.Oidc.Tenants.TryGetValue(tenant, out var settings))
        {
            return TypedResults.NotFound();
        }

        var form = await request.ReadFormAsync();
        var client = AuthenticateClient(request, form, settings.Clients, settings.RevocationAuthMethods, out var error);
        if (client is null)
        {
            return ClientError(request, error!);
        }

        var token = form["token"].ToString();
        if (!settings.RevokesAccessTokens && !grants.IsRefreshToken(token))
        {
            // RFC 7009 §2.2.1: "unsupported_token_type: The authorization server does not support the revocation of the
            // presented token type."
            return Error(400, "unsupported_token_type");
        }

        // RFC 7009 §2.2: 200 whether or not the token was known.
        grants.Revoke("oidc:" + tenant, client.ClientId, token);
        return TypedResults.Ok();
    }

    /// <summary>
    /// RFC 6749 §2.3.1: Basic (form-decoded id and secret) or body parameters, never both (§2.3: "MUST NOT use more than
    /// one authentication method in each request"), and only the methods <paramref name="accepted"/>.
    /// </summary>
    private static SandboxClient? AuthenticateClient(HttpRequest request, IFormCollection form, List<SandboxClient> clients, ClientAuthMethods accepted, out string? error)
    {
        var inBody = form.ContainsKey("client_secret");
        error = "invalid_client";
        if (BasicCredentials.TryRead(request, out var user, out var password))
        {
            if (inBody)
            {
                error = "invalid_request";
                return null;
            }

            var id = WebUtility.UrlDecode(user);
            var secret = WebUtility.UrlDecode(password);
            return accepted == ClientAuthMethods.PostOnly ? null : clients.FirstOrDefault(c => c.ClientId == id && c.ClientSecret == secret);
        }

        return inBody && accepted != ClientAuthMethods.BasicOnly ? clients.FirstOrDefault(c => c.ClientId == form["client_id"] && c.ClientSecret == form["client_secret"]) : null;
    }

    /// <summary>
    /// RFC 6749 §5.2, invalid_client: "The authorization server MAY return an HTTP 401 ... If the client attempted to
    /// authenticate via the "Authorization" request header field, the authorization server MUST respond with an HTTP 401
    /// ... and include the "WWW-Authenticate" response header field"; otherwise 400.
    /// </summary>
    private static IResult ClientError(HttpRequest request, string error) =>
        error == "invalid_client" && request.Headers.Authorization.Count > 0
            ? new ChallengeResult("Basic realm=\"sandbox\"", Error(401, error))
            : Error(400, error);

    private static IResult Tokens(string access, string refresh, string scope, TimeSpan lifetime, string? idToken)
    {
        var body = new Dictionary<string, object>
        {
            ["access_token"] = access,
            ["token_type"] = "Bearer",
            ["expires_in"] = (long)lifetime.TotalSeconds,
            ["refresh_token"] = refresh,
            ["scope"] = scope,
        };
        if (idToken is not null)
        {
            body["id_token"] = idToken;
        }

        return new NoStoreJson(body, 200);
    }

    private static IResult Error(int status, string error, string? description = null) =>
        new NoStoreJson(description is null ? new Dictionary<string, object> { ["error"] = error } : new Dictionary<string, object> { ["error"] = error, ["error_description"] = description }, status);

    private static string? Value(Microsoft.Extensions.Primitives.StringValues value) => string.IsNullOrEmpty(value) ? null : value.ToString();

    private static string Append(string url, params (string Name, string? Value)[] parameters) =>
        url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") +
        string.Join('&', parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value!)));

    /// <summary>RFC 6749 §5.1: token responses carry Cache-Control: no-store and Pragma: no-cache.</summary>
    private sealed class NoStoreJson(Dictionary<string, object> body, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.CacheControl = "no-store";
            httpContext.Response.Headers.Pragma = "no-cache";
            httpContext.Response.StatusCode = status;
            return httpContext.Response.WriteAsJsonAsync(body);
        }
    }

    /// <summary>401 with a challenge: RFC 6750 §3 (Bearer, userinfo) or RFC 6749 §5.2 (Basic, client authentication).</summary>
    private sealed class ChallengeResult(string challenge, IResult? body = null) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.WWWAuthenticate = challenge;
            if (body is not null)
            {
                return body.ExecuteAsync(httpContext);
            }

            httpContext.Response.StatusCode = 401;
            return Task.CompletedTask;
        }
    }
}
