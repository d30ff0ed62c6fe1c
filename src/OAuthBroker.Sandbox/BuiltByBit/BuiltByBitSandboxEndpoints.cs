using System.Net;
using Microsoft.Extensions.Options;
using OAuthBroker.Sandbox.Pages;

namespace OAuthBroker.Sandbox.BuiltByBit;

/// <summary>
/// BuiltByBit OAuth2 as documented (https://builtbybit.com/wiki/oauth2/; BuiltByBit/api-openapi-spec spec.yaml; the
/// generated wrappers' Oauth2Api and getV2MembersSelf docs): authorize with at least one scope, a token endpoint taking
/// HTTP Basic client credentials, flat token answers, identity in the <c>result</c>/<c>data</c> envelope, revocation with
/// <c>token_hint</c> answering 200 <c>{"revoked": boolean}</c>, and 429 with Retry-After. What the documents leave open
/// (error shapes and statuses, scope names, rotation, the Basic encoding, limits) is a switch in
/// <see cref="BuiltByBitSandboxOptions"/>. Both hosts (builtbybit.com and api.builtbybit.com) are served under one prefix.
/// </summary>
public static class BuiltByBitSandboxEndpoints
{
    public const string Prefix = "/builtbybit";
    private const string Realm = "builtbybit";

    public static void MapBuiltByBitSandbox(this IEndpointRouteBuilder root)
    {
        var app = root.MapGroup(Prefix);
        app.MapGet("/account/external/authorize", Authorize);
        app.MapPost("/account/external/consent", Consent).DisableAntiforgery();
        app.MapPost("/oauth2/token", Token).DisableAntiforgery();
        app.MapPost("/oauth2/token/revoke", Revoke).DisableAntiforgery();
        app.MapGet("/v2/members/self", Self);
    }

    private static IResult Authorize(HttpRequest request, IOptions<SandboxOptions> options)
    {
        var settings = options.Value.BuiltByBit;
        var query = request.Query;
        var client = settings.Clients.FirstOrDefault(c => c.ClientId == query["client_id"]);
        if (client is null || query["response_type"] != "code")
        {
            return ConsentPage.Error("Unknown client or unsupported response_type.");
        }

        // Standard behaviour (no fallback): the redirect URI must be registered exactly.
        if (!client.RedirectUris.Contains(query["redirect_uri"].ToString(), StringComparer.Ordinal))
        {
            return ConsentPage.Error("redirect_uri is not registered for this client.");
        }

        // At least one scope (an integration reports "must request at least one scope"); the wiki: "OAuth2 grants may only use
        // scopes which are enabled on the token".
        var scopes = query["scope"].ToString().Split([' ', ','], StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Length == 0)
        {
            return ConsentPage.Error("You must request at least one scope.");
        }

        if (settings.EnabledScopes.Count > 0 && scopes.FirstOrDefault(s => !settings.EnabledScopes.Contains(s, StringComparer.Ordinal)) is { } notEnabled)
        {
            return ConsentPage.Error($"The scope '{notEnabled}' is not enabled on this application's API token.");
        }

        return ConsentPage.Render("BuiltByBit", client.ClientId, query["scope"].ToString(), Prefix + "/account/external/consent",
            new Dictionary<string, string?>
            {
                ["client_id"] = client.ClientId,
                ["redirect_uri"] = query["redirect_uri"],
                ["scope"] = query["scope"],
                ["state"] = query["state"],
                ["code_challenge"] = query["code_challenge"],
            },
            Random.Shared.Next(10_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task<IResult> Consent(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants)
    {
        var form = await request.ReadFormAsync();
        var client = options.Value.BuiltByBit.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        var redirectUri = form["redirect_uri"].ToString();
        if (client is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return ConsentPage.Error("Consent form does not match a registered client.");
        }

        // The callback's parameters are undocumented; integrations expect RFC 6749 §4.1.2 (code, state) and §4.1.2.1 (error).
        var parameters = form["action"] == "approve"
            ? $"code={Uri.EscapeDataString(grants.IssueCode(Realm, client.ClientId, redirectUri, form["scope"].ToString(), form["account"].ToString(), NullIfEmpty(form["code_challenge"]), null, TimeSpan.FromMinutes(10)))}"
            : "error=access_denied";
        if (!string.IsNullOrEmpty(form["state"]))
        {
            parameters += "&state=" + Uri.EscapeDataString(form["state"].ToString());
        }

        return TypedResults.Redirect(redirectUri + (redirectUri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + parameters);
    }

    private static async Task<IResult> Token(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, BuiltByBitRateLimits limits)
    {
        var settings = options.Value.BuiltByBit;
        // Oauth2Api getOauth2Token: "Must authenticate via HTTP Basic Authentication, using your OAuth2 client credentials."
        var client = BasicClient(request, settings);
        if (client is null)
        {
            return Error(settings, 401, "invalid_client", "Invalid client credentials.");
        }

        if (limits.Check(client.ClientId, write: true, settings) is { } limited)
        {
            return limited;
        }

        if (settings.ApiTokenDisabled)
        {
            return Disabled();
        }

        var form = await request.ReadFormAsync();
        var rules = new StandardGrants.RefreshRules(null, settings.RotateRefreshTokens, settings.ReusedRefreshTokenRevokesGrant);
        switch (form["grant_type"].ToString())
        {
            case "authorization_code":
                var (check, code) = grants.Redeem(Realm, client.ClientId, NullIfEmpty(form["code"]), NullIfEmpty(form["redirect_uri"]), NullIfEmpty(form["code_verifier"]), requireRedirectUri: false);
                if (check != StandardGrants.CodeCheck.Ok)
                {
                    return Error(settings, 400, "invalid_grant", $"The authorization code is invalid ({check}).");
                }

                var (_, access, refresh) = grants.NewGrant(code!, "bbb_", settings.AccessTokenLifetime, rules);
                return Tokens(access, refresh, code!.Scope, settings);
            case "refresh_token":
                var refreshed = grants.Refresh(Realm, client.ClientId, NullIfEmpty(form["refresh_token"]), "bbb_", settings.AccessTokenLifetime, rules);
                return refreshed is { } r ? Tokens(r.AccessToken, r.RefreshToken, r.Grant.Scope, settings) : Error(settings, 400, "invalid_grant", "The refresh token is invalid.");
            default:
                return Error(settings, 400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token.");
        }
    }

    private static async Task<IResult> Revoke(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, BuiltByBitRateLimits limits)
    {
        var settings = options.Value.BuiltByBit;
        // Oauth2Api getOauth2TokenRevoke: the Authorization header is required ("OAuth2 client credentials in the Basic
        // authorization format").
        var client = BasicClient(request, settings);
        if (client is null)
        {
            return TypedResults.Json(new { result = "error", error = new { code = "Unauthorized", message = "Invalid client credentials." } }, statusCode: 401);
        }

        if (limits.Check(client.ClientId, write: true, settings) is { } limited)
        {
            return limited;
        }

        if (settings.ApiTokenDisabled)
        {
            return Disabled();
        }

        var form = await request.ReadFormAsync();
        if (settings.RevokeAnswer == RevokeAnswer.NotRevoked)
        {
            // The documented body's boolean, false: nothing was revoked.
            return TypedResults.Json(new { revoked = false });
        }

        grants.Revoke(Realm, client.ClientId, form["token"].ToString());
        return TypedResults.Json(new { revoked = true });
    }

    private static IResult Self(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, BuiltByBitRateLimits limits)
    {
        var settings = options.Value.BuiltByBit;
        var header = request.Headers.Authorization.ToString();
        // The wiki: "Requests against API V2 endpoints must be authorized via HTTP Bearer Authentication".
        var grant = header.StartsWith("Bearer ", StringComparison.Ordinal) ? grants.Authenticate(Realm, header["Bearer ".Length..]) : null;
        if (grant is null)
        {
            return TypedResults.Json(new { result = "error", error = new { code = "Unauthorized", message = "Invalid or expired token." } }, statusCode: 401);
        }

        if (limits.Check(grant.ClientId, write: false, settings) is { } limited)
        {
            return limited;
        }

        // getV2MembersSelf: {"result":"success","data":{"self":Member}}; Member.user_id is a string in the spec.
        object userId = settings.UserIdAsNumber && long.TryParse(grant.Account, out var number) ? number : grant.Account;
        return TypedResults.Json(new
        {
            result = "success",
            data = new { self = new { user_id = userId, username = "member" + grant.Account, registered_at = "1700000000", avatar_url = "https://example.invalid/a.png" } },
        });
    }

    /// <summary>The Basic header read as <see cref="BuiltByBitSandboxOptions.BasicEncoding"/> says.</summary>
    private static SandboxClient? BasicClient(HttpRequest request, BuiltByBitSandboxOptions settings)
    {
        if (!BasicCredentials.TryRead(request, out var id, out var secret))
        {
            return null;
        }

        bool Raw(SandboxClient c) => c.ClientId == id && c.ClientSecret == secret;
        bool FormEncoded(SandboxClient c) => c.ClientId == WebUtility.UrlDecode(id) && c.ClientSecret == WebUtility.UrlDecode(secret);
        return settings.Clients.FirstOrDefault(c => settings.BasicEncoding switch
        {
            BasicEncoding.FormEncoded => FormEncoded(c),
            BasicEncoding.Either => Raw(c) || FormEncoded(c),
            _ => Raw(c),
        });
    }

    /// <summary>The API token behind the client is disabled: components.responses.Error envelope; the 403 is undocumented.</summary>
    private static IResult Disabled() =>
        TypedResults.Json(new { result = "error", error = new { code = "Forbidden", message = "The API token is disabled or has no project name." } }, statusCode: 403);

    private static IResult Tokens(string access, string refresh, string scope, BuiltByBitSandboxOptions settings) => TypedResults.Json(new
    {
        access_token = access,
        expires_in = (long)settings.AccessTokenLifetime.TotalSeconds,
        refresh_token = refresh,
        scope,
        token_type = "Bearer",
    });

    private static IResult Error(BuiltByBitSandboxOptions settings, int status, string code, string message) =>
        settings.TokenErrorShape == ErrorShape.Rfc6749
            ? TypedResults.Json(new { error = code, error_description = message }, statusCode: status)
            : TypedResults.Json(new { result = "error", error = new { code, message } }, statusCode: status);

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) => string.IsNullOrEmpty(value) ? null : value.ToString();
}
