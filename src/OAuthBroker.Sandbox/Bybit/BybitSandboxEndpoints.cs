using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using OAuthBroker.Sandbox.Tokens;

namespace OAuthBroker.Sandbox.Bybit;

/// <summary>
/// Bybit API Broker OAuth as documented (provider-contracts.md §1, B1–B6): authorize page on the www host,
/// flat token responses, <c>ret_code</c>-wrapped resources, HS256 JWTs with the documented claims, single-use
/// codes, rotating refresh tokens whose reuse revokes the grant, and the documented error codes.
/// Both hosts (www and api2) are served from this one origin.
/// </summary>
public static class BybitSandboxEndpoints
{
    /// <summary>Every Bybit path is served under this prefix, so several providers' dialects share one origin.</summary>
    public const string Prefix = "/bybit";

    public static void MapBybitSandbox(this IEndpointRouteBuilder root)
    {
        var app = root.MapGroup(Prefix);
        // B1: /en/oauth per the docs; /oauth without locale per Bybit's own tool (and testnet).
        app.MapGet("/en/oauth", AuthorizePage);
        app.MapGet("/oauth", AuthorizePage);
        app.MapPost("/en/oauth/consent", Consent).DisableAntiforgery();
        app.MapPost("/oauth/v1/public/access_token", ExchangeCode).DisableAntiforgery();
        app.MapPost("/oauth/v1/public/refresh_token", Refresh).DisableAntiforgery();
        app.MapGet("/oauth/v1/resource/restrict/openapi", OpenApiKey);
        app.MapGet("/oauth/v1/resource/restrict/uid_bearer", Uid);
    }

    private static IResult AuthorizePage(HttpRequest request, IOptions<SandboxOptions> options)
    {
        var query = request.Query;
        var client = options.Value.Bybit.Clients.FirstOrDefault(c => c.ClientId == query["client_id"]);
        if (client is null)
        {
            return BybitConsentPage.Error("Unknown client_id.");
        }

        if (query["response_type"] != "code")
        {
            return BybitConsentPage.Error("response_type must be code.");
        }

        // Quirk (S1): a redirect_uri that matches no registered one silently falls back to the first registered.
        var requested = query["redirect_uri"].ToString();
        var redirectUri = client.RedirectUris.Contains(requested, StringComparer.Ordinal) ? requested : client.RedirectUris.FirstOrDefault();
        if (redirectUri is null)
        {
            return BybitConsentPage.Error("The client has no registered redirect URI.");
        }

        var scope = query["scope"].ToString();
        return BybitConsentPage.Render(client.ClientId, redirectUri, string.IsNullOrEmpty(scope) ? "openapi" : scope, query["state"]);
    }

    private static async Task<IResult> Consent(HttpRequest request, IOptions<SandboxOptions> options, BybitSandboxState state, IssuedSecrets issued, TimeProvider time)
    {
        var form = await request.ReadFormAsync();
        if (form["action"] != "approve")
        {
            // S3: when the user cancels, Bybit does not redirect; the pop-up stays on Bybit.
            return BybitConsentPage.Cancelled();
        }

        var client = options.Value.Bybit.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        var redirectUri = form["redirect_uri"].ToString();
        if (client is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return BybitConsentPage.Error("Consent form does not match a registered client.");
        }

        if (!long.TryParse(form["account"], out var uid) || uid <= 0)
        {
            return BybitConsentPage.Error("UID must be a positive number.");
        }

        var code = BybitSandboxState.RandomToken();
        issued.Add(code);
        state.Codes[code] = new BybitSandboxState.IssuedCode(client.ClientId, uid, form["scope"].ToString(), redirectUri,
            time.GetUtcNow() + options.Value.Bybit.CodeLifetime, form["no_2fa"] == "on");

        // B2: response_type, code, scope, state on the query.
        var parameters = new List<string> { "response_type=code", "code=" + Uri.EscapeDataString(code), "scope=" + Uri.EscapeDataString(form["scope"].ToString()) };
        if (!string.IsNullOrEmpty(form["state"]))
        {
            parameters.Add("state=" + Uri.EscapeDataString(form["state"].ToString()));
        }

        var location = redirectUri + (redirectUri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + string.Join('&', parameters);
        return new StatusRedirect(options.Value.Bybit.CallbackStatus, location);
    }

    private static async Task<IResult> ExchangeCode(HttpRequest request, IOptions<SandboxOptions> options, BybitSandboxState state, HmacJwt jwt, IssuedSecrets issued, TimeProvider time)
    {
        var bybit = options.Value.Bybit;
        if (bybit.RequireBrowserUserAgent && !request.Headers.UserAgent.ToString().StartsWith("Mozilla/", StringComparison.Ordinal))
        {
            return TypedResults.Content("<html><body>403 Forbidden</body></html>", "text/html", statusCode: 403);
        }

        var form = await request.ReadFormAsync();
        var client = bybit.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        if (client is null || !FixedTimeEquals(client.ClientSecret, form["client_secret"]))
        {
            return Envelope.CamelError(10003, "invalid client_id or client_secret");
        }

        if (!state.Codes.TryGetValue(form["code"].ToString(), out var code) || code.ClientId != client.ClientId || !code.TryUse() || time.GetUtcNow() > code.ExpiresAt)
        {
            return Envelope.CamelError(10001, "the code has expired or was already used");
        }

        if (code.AccountWithout2Fa)
        {
            return Envelope.CamelError(20039, "please bind 2FA first");
        }

        var grant = new BybitSandboxState.Grant(BybitSandboxState.RandomToken(8), client.ClientId, code.Uid, code.Scope);
        state.Grants[grant.Id] = grant;
        issued.Add(grant.ApiSecret);
        lock (grant.Gate)
        {
            return TypedResults.Json(IssueTokens(grant, bybit, state, jwt, issued, time.GetUtcNow()));
        }
    }

    private static async Task<IResult> Refresh(HttpRequest request, IOptions<SandboxOptions> options, BybitSandboxState state, HmacJwt jwt, IssuedSecrets issued, TimeProvider time)
    {
        var bybit = options.Value.Bybit;
        var form = await request.ReadFormAsync();
        var client = bybit.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        var secret = form["client_secret"].ToString();
        var secretOk = bybit.RefreshClientSecret switch
        {
            SecretOnRefresh.Required => client is not null && FixedTimeEquals(client.ClientSecret, secret),
            SecretOnRefresh.Forbidden => string.IsNullOrEmpty(secret),
            _ => string.IsNullOrEmpty(secret) || (client is not null && FixedTimeEquals(client.ClientSecret, secret)),
        };
        if (client is null || !secretOk)
        {
            return Envelope.CamelError(10003, "invalid client_id or client_secret");
        }

        var presented = form["refresh_token"].ToString();
        if (!state.RefreshTokens.TryGetValue(presented, out var grantId) || !state.Grants.TryGetValue(grantId, out var grant) || grant.ClientId != client.ClientId)
        {
            return Envelope.CamelError(10004, "invalid refresh token");
        }

        lock (grant.Gate)
        {
            if (grant.Revoked)
            {
                return Envelope.CamelError(10004, "invalid refresh token");
            }

            if (presented != grant.CurrentRefreshToken)
            {
                // A superseded refresh token came back: treat as replay and kill the whole grant.
                grant.Revoked = true;
                return Envelope.CamelError(10004, "invalid refresh token");
            }

            if (time.GetUtcNow() > grant.RefreshTokenExpiresAt)
            {
                return Envelope.CamelError(10004, "refresh token expired");
            }

            grant.RefreshCount++;
            return TypedResults.Json(IssueTokens(grant, bybit, state, jwt, issued, time.GetUtcNow()));
        }
    }

    private static IResult OpenApiKey(HttpRequest request, BybitSandboxState state, TimeProvider time)
    {
        var grant = Authenticate(request, state, time, out var failure);
        return grant is null
            ? failure!
            : TypedResults.Json(new { ret_code = 0, ret_msg = "success", result = new { api_key = grant.ApiKey, api_secret = grant.ApiSecret } });
    }

    private static IResult Uid(HttpRequest request, BybitSandboxState state, TimeProvider time, IOptions<SandboxOptions> options)
    {
        var grant = Authenticate(request, state, time, out var failure);
        if (grant is null)
        {
            return failure!;
        }

        return options.Value.Bybit.UidResponseShape == UidShape.TopLevel
            ? TypedResults.Json(new { ret_code = 0, ret_msg = "success", uid = grant.Uid })
            : TypedResults.Json(new { ret_code = 0, ret_msg = "success", result = new { uid = grant.Uid } });
    }

    private static BybitSandboxState.Grant? Authenticate(HttpRequest request, BybitSandboxState state, TimeProvider time, out IResult? failure)
    {
        failure = Envelope.SnakeError(10001, "unauthorized");
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header["Bearer ".Length..];
        if (!state.AccessTokens.TryGetValue(token, out var grantId) || !state.Grants.TryGetValue(grantId, out var grant) || grant.Revoked)
        {
            return null;
        }

        lock (grant.Gate)
        {
            if (!grant.AccessTokenExpiry.TryGetValue(token, out var expiresAt))
            {
                return null;
            }

            if (time.GetUtcNow() > expiresAt)
            {
                failure = Envelope.SnakeError(33004, "access token expired");
                return null;
            }
        }

        failure = null;
        return grant;
    }

    /// <summary>B3/B6 response: flat, lowercase <c>bearer</c>, both tokens HS256 JWTs with the documented claims.</summary>
    private static object IssueTokens(BybitSandboxState.Grant grant, BybitSandboxOptions bybit, BybitSandboxState state, HmacJwt jwt, IssuedSecrets issued, DateTimeOffset now)
    {
        string Token(DateTimeOffset expires)
        {
            var claims = new Dictionary<string, object>
            {
                ["exp"] = expires.ToUnixTimeSeconds(),
                ["ClientID"] = grant.ClientId,
                ["ApprovedScope"] = new[] { grant.Scope },
                ["Nonce"] = BybitSandboxState.RandomToken(8),
            };
            if (!bybit.OmitUidClaim)
            {
                claims["GrantMemberID"] = grant.Uid;
            }

            return jwt.Create(claims);
        }

        var accessExpires = now + bybit.AccessTokenLifetime;
        var refreshExpires = now + bybit.RefreshTokenLifetime;
        var accessToken = Token(accessExpires);
        var refreshToken = Token(refreshExpires);
        issued.Add(accessToken);
        issued.Add(refreshToken);
        grant.AccessTokenExpiry[accessToken] = accessExpires;
        grant.CurrentRefreshToken = refreshToken;
        grant.RefreshTokenExpiresAt = refreshExpires;
        state.AccessTokens[accessToken] = grant.Id;
        state.RefreshTokens[refreshToken] = grant.Id;
        return new Dictionary<string, object>
        {
            ["access_token"] = accessToken,
            ["refresh_token"] = refreshToken,
            ["token_type"] = "bearer",
            ["expires_in"] = (long)bybit.AccessTokenLifetime.TotalSeconds,
            ["refresh_token_expires_in"] = (long)bybit.RefreshTokenLifetime.TotalSeconds,
        };
    }

    private static bool FixedTimeEquals(string expected, string? actual) =>
        actual is not null && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(expected), System.Text.Encoding.UTF8.GetBytes(actual));

    /// <summary>Bybit's two error spellings: retCode/retMsg on the token endpoints, ret_code/ret_msg on resources.</summary>
    private static class Envelope
    {
        public static IResult CamelError(int code, string message) => TypedResults.Json(new { retCode = code, retMsg = message });

        public static IResult SnakeError(int code, string message) => TypedResults.Json(new { ret_code = code, ret_msg = message });
    }
}

/// <summary>A redirect with a chosen status (Bybit documents 301, its help center 302).</summary>
public sealed class StatusRedirect(int status, string location) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = status;
        httpContext.Response.Headers.Location = location;
        return Task.CompletedTask;
    }
}
