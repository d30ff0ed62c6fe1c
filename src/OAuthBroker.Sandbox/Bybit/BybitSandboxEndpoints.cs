using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using OAuthBroker.Sandbox.Tokens;

namespace OAuthBroker.Sandbox.Bybit;

/// <summary>
/// Bybit API Broker OAuth as documented: the guidance (bybit-exchange/docs docs/v5/broker/api-broker/guidance), the help
/// centre's "How to Integrate With the OAuth System as a Broker on Bybit" (phases 1–5) and Bybit's own OAuth client
/// (bybit-exchange/skills modules/oauth.js, modules/oauth.md): authorize page on the www host, token answers flat or in a
/// <c>result</c> envelope, <c>ret_code</c>-wrapped resources (openapi, uid_bearer), HS256 JWTs with the sample token's
/// claims, single-use codes, rotating refresh tokens, and the documented error codes. Where these texts disagree or are
/// silent, <see cref="BybitSandboxOptions"/> has a switch. Both hosts (www and api2) are served from this one origin.
/// </summary>
public static class BybitSandboxEndpoints
{
    /// <summary>Every Bybit path is served under this prefix, so several providers' dialects share one origin.</summary>
    public const string Prefix = "/bybit";

    public static void MapBybitSandbox(this IEndpointRouteBuilder root)
    {
        var app = root.MapGroup(Prefix);
        // /en/oauth per the guidance; /oauth without a locale per Bybit's own client (modules/oauth.js HOSTS, and testnet).
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

        // The guidance on redirect_uri: "If the passed value does not match the configuration, it defaults to the first address."
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
        var bybit = options.Value.Bybit;
        var form = await request.ReadFormAsync();
        var client = bybit.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        var redirectUri = form["redirect_uri"].ToString();
        if (client is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return BybitConsentPage.Error("Consent form does not match a registered client.");
        }

        if (form["action"] != "approve")
        {
            // Help centre phase 2: "Failure or Cancellation: The pop-up remains on the Bybit page." Phase 3: "If you cancel
            // the verification process, the redirection will still occur." No error parameter is documented for it.
            return bybit.CancelRedirects
                ? new StatusRedirect(bybit.CallbackStatus, Append(redirectUri, [("state", form["state"].ToString())]))
                : BybitConsentPage.Cancelled();
        }

        if (!long.TryParse(form["account"], out var uid) || uid <= 0)
        {
            return BybitConsentPage.Error("UID must be a positive number.");
        }

        var code = BybitSandboxState.RandomToken();
        issued.Add(code);
        state.Codes[code] = new BybitSandboxState.IssuedCode(client.ClientId, uid, form["scope"].ToString(), redirectUri,
            time.GetUtcNow() + bybit.CodeLifetime, form["no_2fa"] == "on");

        var parameters = bybit.CallbackParameters == BybitCallbackReading.HelpCentre
            // Help centre phase 3: "Required Parameters: client_id ... code"; phase 2: state "will be returned".
            ? new List<(string, string)> { ("client_id", client.ClientId), ("code", code) }
            // The guidance's example: ?response_type=code&code=…&scope=openapi&state=….
            : [("response_type", "code"), ("code", code), ("scope", form["scope"].ToString())];
        if (!string.IsNullOrEmpty(form["state"]))
        {
            parameters.Add(("state", form["state"].ToString()));
        }

        return new StatusRedirect(bybit.CallbackStatus, Append(redirectUri, parameters));
    }

    /// <summary>The redirect URI exactly as registered (the guidance's example keeps its trailing slash: <c>…/callback/?…</c>).</summary>
    private static string Append(string redirectUri, List<(string Name, string Value)> parameters) =>
        redirectUri + (redirectUri.Contains('?', StringComparison.Ordinal) ? "&" : "?") +
        string.Join('&', parameters.Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value)));

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
            return Envelope.CamelError(bybit, 10003, "invalid client_id or client_secret");
        }

        if (!state.Codes.TryGetValue(form["code"].ToString(), out var code) || code.ClientId != client.ClientId || !code.TryUse() || time.GetUtcNow() > code.ExpiresAt)
        {
            return Envelope.CamelError(bybit, 10001, "the code has expired or was already used");
        }

        if (code.AccountWithout2Fa && bybit.No2FaRefusedAt == No2FaAt.TokenEndpoint)
        {
            return Envelope.CamelError(bybit, 20039, "please bind 2FA first");
        }

        var grant = new BybitSandboxState.Grant(BybitSandboxState.RandomToken(8), client.ClientId, code.Uid, code.Scope) { AccountWithout2Fa = code.AccountWithout2Fa };
        state.Grants[grant.Id] = grant;
        issued.Add(grant.ApiSecret);
        lock (grant.Gate)
        {
            return Tokens(IssueTokens(grant, bybit, state, jwt, issued, time.GetUtcNow()), bybit);
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
            return Envelope.CamelError(bybit, 10003, "invalid client_id or client_secret");
        }

        var presented = form["refresh_token"].ToString();
        if (!state.RefreshTokens.TryGetValue(presented, out var grantId) || !state.Grants.TryGetValue(grantId, out var grant) || grant.ClientId != client.ClientId)
        {
            return Envelope.CamelError(bybit, 10004, "invalid refresh token");
        }

        lock (grant.Gate)
        {
            if (grant.Revoked)
            {
                return Envelope.CamelError(bybit, 10004, "invalid refresh token");
            }

            if (presented != grant.CurrentRefreshToken)
            {
                // A rotated-away refresh token came back. Bybit documents no reuse rule; by default the sandbox ends the
                // grant (RFC 9700 §4.14.2 replay detection), or only refuses the token (switch).
                grant.Revoked = bybit.ReusedRefreshTokenRevokesGrant;
                return Envelope.CamelError(bybit, 10004, "invalid refresh token");
            }

            if (time.GetUtcNow() > grant.RefreshTokenExpiresAt)
            {
                return Envelope.CamelError(bybit, 10004, "refresh token expired");
            }

            grant.RefreshCount++;
            return Tokens(IssueTokens(grant, bybit, state, jwt, issued, time.GetUtcNow()), bybit);
        }
    }

    private static IResult OpenApiKey(HttpRequest request, BybitSandboxState state, TimeProvider time, IOptions<SandboxOptions> options)
    {
        var bybit = options.Value.Bybit;
        var grant = Authenticate(request, state, time, bybit, out var failure);
        if (grant is null)
        {
            return failure!;
        }

        // modules/oauth.js meets 20039 ("no 2FA", terminal) on the resource call.
        return grant.AccountWithout2Fa && bybit.No2FaRefusedAt == No2FaAt.OpenApi
            ? Envelope.SnakeError(bybit, 20039, "please bind 2FA first")
            // The guidance: {"ret_code":0,"ret_msg":"success","result":{"api_key":…,"api_secret":…}}.
            : TypedResults.Json(new { ret_code = 0, ret_msg = "success", result = new { api_key = grant.ApiKey, api_secret = grant.ApiSecret } });
    }

    private static IResult Uid(HttpRequest request, BybitSandboxState state, TimeProvider time, IOptions<SandboxOptions> options)
    {
        var grant = Authenticate(request, state, time, options.Value.Bybit, out var failure);
        if (grant is null)
        {
            return failure!;
        }

        // Help centre phase 5: "JSON with ret_code = 0 and ret_msg = "success""; the UID's field is the switch.
        return options.Value.Bybit.UidResponseShape == UidShape.TopLevel
            ? TypedResults.Json(new { ret_code = 0, ret_msg = "success", uid = grant.Uid })
            : TypedResults.Json(new { ret_code = 0, ret_msg = "success", result = new { uid = grant.Uid } });
    }

    private static BybitSandboxState.Grant? Authenticate(HttpRequest request, BybitSandboxState state, TimeProvider time, BybitSandboxOptions bybit, out IResult? failure)
    {
        failure = Envelope.SnakeError(bybit, 10001, "unauthorized");
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
                failure = Envelope.SnakeError(bybit, 33004, "access token expired");
                return null;
            }
        }

        failure = null;
        return grant;
    }

    /// <summary>The token answer, flat (the guidance) or inside the retCode envelope Bybit's own client also reads.</summary>
    private static IResult Tokens(Dictionary<string, object> tokens, BybitSandboxOptions bybit) => bybit.TokenResponseShape == BybitTokenShape.Wrapped
        ? TypedResults.Json(new { retCode = 0, retMsg = "success", result = tokens })
        : TypedResults.Json(tokens);

    /// <summary>The guidance's token answer: lowercase <c>bearer</c>, both tokens HS256 JWTs with the sample token's claims.</summary>
    private static Dictionary<string, object> IssueTokens(BybitSandboxState.Grant grant, BybitSandboxOptions bybit, BybitSandboxState state, HmacJwt jwt, IssuedSecrets issued, DateTimeOffset now)
    {
        string Token(DateTimeOffset expires)
        {
            var claims = new Dictionary<string, object>
            {
                ["exp"] = expires.ToUnixTimeSeconds(),
                ["ClientID"] = grant.ClientId,
                // The sample token's ApprovedScope is an array of scope names; the help centre's example is "openapi, openapai".
                ["ApprovedScope"] = grant.Scope.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
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

    /// <summary>
    /// Bybit's two error spellings: retCode/retMsg on the token endpoints, ret_code/ret_msg on resources (modules/oauth.js
    /// reads them so). The HTTP status of an error is undocumented: <see cref="BybitSandboxOptions.ErrorHttpStatus"/>.
    /// </summary>
    private static class Envelope
    {
        public static IResult CamelError(BybitSandboxOptions bybit, int code, string message) => TypedResults.Json(new { retCode = code, retMsg = message }, statusCode: bybit.ErrorHttpStatus);

        public static IResult SnakeError(BybitSandboxOptions bybit, int code, string message) => TypedResults.Json(new { ret_code = code, ret_msg = message }, statusCode: bybit.ErrorHttpStatus);
    }
}

/// <summary>A redirect with a chosen status (the guidance documents 301, the help centre 302).</summary>
public sealed class StatusRedirect(int status, string location) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = status;
        httpContext.Response.Headers.Location = location;
        return Task.CompletedTask;
    }
}
