using Microsoft.Extensions.Options;
using OAuthBroker.Sandbox.Pages;

namespace OAuthBroker.Sandbox.WhiteBit;

/// <summary>
/// WhiteBIT's documented dialect (openapi/oauth2.yaml; guides/fast-api-key-via-oauth and guides/fast-api-key-integration):
/// <c>/auth/login</c> with camelCase <c>clientId</c>, <c>/oauth2/token</c> without <c>grant_type</c> answering in <c>data</c>
/// (401 / 422 error shapes), <c>/oauth2/refresh_token</c> with the field <c>token</c> (rotation, 600 s refresh tokens,
/// 1 request/s, 400 shape), and the API-key endpoints: info, the secret once (409 afterwards, 423 while locked,
/// <c>Cache-Control: no-store</c>), delete. The readings the documents disagree on are switches in
/// <see cref="WhiteBitSandboxOptions"/>.
/// </summary>
public static partial class WhiteBitSandboxEndpoints
{
    public const string Prefix = "/whitebit";
    private const string Realm = "whitebit";

    /// <summary>fast-api-key-integration 0.4: "the three requested scopes — apikeys.create, apikeys.read, and apikeys.delete".</summary>
    private const string FastScopes = "apikeys.create,apikeys.read,apikeys.delete";

    /// <summary>Classic-flow scopes from the documented list (openapi/oauth2.yaml, tag Authentication), comma-separated as granted.</summary>
    private const string ClassicScopes = "general,show.userinfo,users.balances.read";

    public static void MapWhiteBitSandbox(this IEndpointRouteBuilder root)
    {
        var app = root.MapGroup(Prefix);
        app.MapGet("/auth/login", Login);
        app.MapPost("/auth/consent", Consent).DisableAntiforgery();
        app.MapPost("/oauth2/token", Token).DisableAntiforgery();
        app.MapPost("/oauth2/refresh_token", Refresh).DisableAntiforgery();
        app.MapGet("/oauth2/api-key/info", Info);
        app.MapGet("/oauth2/api-key/{externalId}/secret", Secret);
        app.MapDelete("/oauth2/api-key/{externalId}", Delete);
    }

    private static IResult Login(HttpRequest request, IOptions<SandboxOptions> options)
    {
        var query = request.Query;
        // /auth/login: the parameter is camelCase clientId; client_id is not WhiteBIT's.
        var client = options.Value.WhiteBit.Clients.FirstOrDefault(c => c.ClientId == query["clientId"]);
        if (client is null)
        {
            return ConsentPage.Error("clientId is missing or unknown.");
        }

        var withPkce = !string.IsNullOrEmpty(query["code_challenge"]);
        var fast = client.WhiteBitFlow is { } registered ? registered == WhiteBitClientFlow.FastApiKey : withPkce;
        string? redirectUri;
        if (fast)
        {
            // Both Fast API Key guides: clientId, redirect_uri, state, code_challenge and code_challenge_method=S256; the newer
            // one's security checklist: "Use Authorization Code with PKCE (S256) on every authorization request".
            if (!withPkce || query["code_challenge_method"] != "S256" || !client.RedirectUris.Contains(query["redirect_uri"].ToString(), StringComparer.Ordinal))
            {
                return ConsentPage.Error("The Fast API Key flow needs code_challenge_method=S256, a code_challenge and a registered redirect_uri.");
            }

            redirectUri = query["redirect_uri"];
        }
        else
        {
            // Classic flow (/auth/login documents only clientId and state): the redirect URI is the one registered.
            redirectUri = client.RedirectUris.FirstOrDefault();
        }

        return ConsentPage.Render("WhiteBIT", client.ClientId, fast ? "Fast API Key" : "classic OAuth", Prefix + "/auth/consent",
            new Dictionary<string, string?> { ["client_id"] = client.ClientId, ["redirect_uri"] = redirectUri, ["state"] = query["state"], ["code_challenge"] = fast ? query["code_challenge"].ToString() : null },
            "wb" + Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "    <label><input type=\"checkbox\" name=\"disabled_key\"> The account already has a disabled key for this platform</label>\n");
    }

    private static async Task<IResult> Consent(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, State state, IssuedSecrets issued, TimeProvider time)
    {
        var settings = options.Value.WhiteBit;
        var form = await request.ReadFormAsync();
        var client = settings.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        var redirectUri = form["redirect_uri"].ToString();
        if (client is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return ConsentPage.Error("Consent form does not match a registered client.");
        }

        if (form["action"] != "approve")
        {
            // What a declined consent sends back is undocumented (the guides describe only the approval's callback).
            return ConsentPage.Message("Authorization cancelled. You can close this window.");
        }

        var account = form["account"].ToString();
        var now = time.GetUtcNow();
        var fast = !string.IsNullOrEmpty(form["code_challenge"]);
        if (form["disabled_key"] == "on")
        {
            // A key WhiteBIT disabled after "14 days without use" (fast-api-key-integration, Lifecycle and revocation).
            state.TryCreate(account, client.ClientId, enabled: false, countsPolls: false, now, issued);
        }

        if (fast && state.KeyOf(account, client.ClientId) is { Enabled: true })
        {
            if (settings.ExistingActiveKey == ExistingKeyReading.GateBlocks)
            {
                // fast-api-key-integration 0.3: "delete the existing key in platform settings ... no authorization code is issued".
                return ConsentPage.Message("An active API key for this platform already exists on your account: delete the existing key in platform settings, then try again.");
            }

            // Otherwise (fast-api-key-via-oauth, partner_key_active_exists) the consent still redirects and no key is created.
        }
        else if (fast && settings.KeyCreation == KeyCreationReading.DuringConsent)
        {
            // fast-api-key-via-oauth: "the WhiteBIT frontend creates the key as part of the consent flow".
            state.TryCreate(account, client.ClientId, enabled: true, countsPolls: true, now, issued);
        }

        var code = grants.IssueCode(Realm, client.ClientId, redirectUri, fast ? FastScopes : ClassicScopes, account, fast ? form["code_challenge"].ToString() : null, null, TimeSpan.FromMinutes(10));
        var location = redirectUri + (redirectUri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "code=" + Uri.EscapeDataString(code);
        if (!string.IsNullOrEmpty(form["state"]))
        {
            location += "&state=" + Uri.EscapeDataString(form["state"].ToString());
        }

        return TypedResults.Redirect(location);
    }

    private static async Task<IResult> Token(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, State state, TimeProvider time)
    {
        var settings = options.Value.WhiteBit;
        var form = await request.ReadFormAsync();
        // get-access-token 422: "Only the failing fields appear".
        var missing = new[] { "client_id", "client_secret", "code" }.Where(f => string.IsNullOrEmpty(form[f])).ToArray();
        if (missing.Length > 0)
        {
            return TypedResults.Json(new { errors = missing.ToDictionary(f => f, _ => new[] { "validation.required" }), notification = (string?)null }, statusCode: 422);
        }

        var client = settings.Clients.FirstOrDefault(c => c.ClientId == form["client_id"] && c.ClientSecret == form["client_secret"]);
        if (client is null)
        {
            return InvalidRequest();
        }

        var verifier = string.IsNullOrEmpty(form["code_verifier"]) ? null : form["code_verifier"].ToString();
        var (check, code) = grants.Redeem(Realm, client.ClientId, form["code"], null, verifier, requireRedirectUri: false);
        if (check != StandardGrants.CodeCheck.Ok)
        {
            return InvalidRequest();
        }

        var fast = code!.Challenge is not null;
        var fourHours = fast && settings.FastTokens == FastTokenReading.FourHoursNoRefresh;
        var (grant, access, refresh) = grants.NewGrant(code, "wb_", fourHours ? settings.FastAccessTokenLifetime : settings.ClassicAccessTokenLifetime, Rules(settings));
        if (fast && settings.KeyCreation == KeyCreationReading.AfterExchange)
        {
            // fast-api-key-integration 0.6: "The user creates the key on WhiteBIT" after the exchange.
            if (settings.KeyCreatedAfter == TimeSpan.MaxValue)
            {
                state.KeyCreationStarted[grant] = 0;
            }
            else
            {
                state.KeyDueAt[grant] = time.GetUtcNow() + settings.KeyCreatedAfter;
            }
        }

        return fourHours ? FourHourTokens(access, settings) : Tokens(access, refresh, fast ? FastScopes : ClassicScopes, settings);
    }

    private static async Task<IResult> Refresh(HttpContext context, IOptions<SandboxOptions> options, StandardGrants grants, State state, TimeProvider time)
    {
        var settings = options.Value.WhiteBit;
        var form = await context.Request.ReadFormAsync();
        var client = settings.Clients.FirstOrDefault(c => c.ClientId == form["client_id"] && c.ClientSecret == form["client_secret"]);
        if (client is null)
        {
            return InvalidRequest();
        }

        // refresh-token: "Rate limit: 1 request per second" — per address, as the FAQ says REST limits are. The 429 body is
        // undocumented (the FAQ says only that 429 is answered).
        var now = time.GetUtcNow();
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (state.LastRefreshByAddress.TryGetValue(address, out var last) && now - last < settings.RefreshRateLimitWindow)
        {
            return TypedResults.Json(new { data = new { message = new[] { "Too Many Attempts." } } }, statusCode: 429);
        }

        state.LastRefreshByAddress[address] = now;
        var refreshed = grants.Refresh(Realm, client.ClientId, form["token"], "wb_", settings.ClassicAccessTokenLifetime, Rules(settings));
        return refreshed is { } r
            ? Tokens(r.AccessToken, r.RefreshToken, r.Grant.Scope, settings)
            : TypedResults.Json(new { data = new { token = new[] { "Invalid token." } } }, statusCode: 400);
    }

    private static IResult Info(HttpRequest request, StandardGrants grants, State state, IOptions<SandboxOptions> options, IssuedSecrets issued, TimeProvider time)
    {
        if (Authenticate(request, grants) is not { } grant)
        {
            return Unauthorized();
        }

        if (state.KeyDueAt.TryGetValue(grant, out var due) && time.GetUtcNow() >= due && state.KeyDueAt.TryRemove(grant, out _))
        {
            // Fails (nothing created) when the pair already has a key: partner_key_active_exists / partner_key_expired_exists.
            state.TryCreate(grant.Account, grant.ClientId, enabled: true, countsPolls: false, due, issued);
        }

        // api-key-info: the key of "the authenticated user and OAuth2 client pair"; every absence is exists:false.
        var key = state.KeyOf(grant.Account, grant.ClientId);
        var visible = key is not null && (!key.CountsPolls || key.Poll() >= options.Value.WhiteBit.KeyReadyAfterPolls);
        return TypedResults.Json(new
        {
            data = new
            {
                exists = visible,
                isEnabled = visible && key!.Enabled,
                externalId = visible ? key!.ExternalId : null,
                // "Empty array when exists is false"; a disabled key's array "still reflects the permissions".
                permissions = visible
                    ? new[] { new { name = "trade", title = "Trade", urls = new[] { new { url = "/api/v4/order/new", enable = true } } } }
                    : [],
            },
        });
    }

    /// <summary>The key named in the path as the documented 401/403/404 see it.</summary>
    private static (State.Key? Key, IResult? Refusal) OwnedKey(string externalId, HttpRequest request, StandardGrants grants, State state)
    {
        if (Authenticate(request, grants) is not { } grant)
        {
            return (null, Unauthorized());
        }

        if (!state.KeysById.TryGetValue(externalId, out var key) || key.Deleted)
        {
            return (null, Message(404, "Key not found."));
        }

        if (key.ClientId != grant.ClientId)
        {
            // api-key-secret / api-key-delete 403: "The key does not belong to the authenticated OAuth2 client".
            return (null, Message(403, "Forbidden."));
        }

        // fast-api-key-integration, Error handling 404: "or the key is not owned by the user the token identifies".
        return key.Account != grant.Account ? (null, Message(404, "Key not found.")) : (key, null);
    }

    private static IResult Secret(string externalId, HttpRequest request, StandardGrants grants, State state, IOptions<SandboxOptions> options, TimeProvider time)
    {
        var (key, refusal) = OwnedKey(externalId, request, grants, state);
        if (key is null)
        {
            return refusal!;
        }

        if (time.GetUtcNow() < key.CreatedAt + options.Value.WhiteBit.SecretLockedFor)
        {
            // api-key-secret 423: "A concurrent secret-retrieval attempt holds the lock"; no Retry-After is sent.
            return Message(423, "Temporary lock, retry shortly.");
        }

        if (key.ReadSecret() > 1)
        {
            return Message(409, "Secret already retrieved.");
        }

        return new NoStore(new { data = new { apiSecret = key.Secret } });
    }

    private static IResult Delete(string externalId, HttpRequest request, StandardGrants grants, State state, IOptions<SandboxOptions> options)
    {
        var (key, refusal) = OwnedKey(externalId, request, grants, state);
        if (key is null)
        {
            return refusal!;
        }

        if (!key.Enabled)
        {
            // api-key-delete: "disabled keys must be removed by the user from the WhiteBIT dashboard"; the status is undocumented.
            return Message(options.Value.WhiteBit.DisabledKeyDeleteStatus, "Disabled keys are removed in the dashboard.");
        }

        key.Deleted = true;
        return TypedResults.Json(new { data = Array.Empty<object>() });
    }

    private static StandardGrants.Grant? Authenticate(HttpRequest request, StandardGrants grants)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) ? grants.Authenticate(Realm, header["Bearer ".Length..]) : null;
    }

    private static StandardGrants.RefreshRules Rules(WhiteBitSandboxOptions settings) =>
        new(settings.RefreshTokenLifetime, Rotate: true, ReuseRevokesGrant: settings.ReusedRefreshTokenRevokesGrant);

    /// <summary>The older Fast reading: a 4-hour token and no refresh token (absent, or null: which one is undocumented).</summary>
    private static IResult FourHourTokens(string access, WhiteBitSandboxOptions settings)
    {
        var body = new Dictionary<string, object?>
        {
            ["access_token"] = access,
            ["expires_in"] = (long)settings.FastAccessTokenLifetime.TotalSeconds,
            ["scope"] = FastScopes,
            ["token_type"] = "Bearer",
        };
        if (settings.FastRefreshTokenAsNull)
        {
            body["refresh_token"] = null;
        }

        return TypedResults.Json(new { data = body });
    }

    /// <summary>get-access-token / refresh-token 200: data.access_token, expires_in (300), refresh_token, scope (comma-separated), token_type.</summary>
    private static IResult Tokens(string access, string refresh, string scope, WhiteBitSandboxOptions settings) => TypedResults.Json(new
    {
        data = new { access_token = access, expires_in = (long)settings.ClassicAccessTokenLifetime.TotalSeconds, refresh_token = refresh, scope, token_type = "Bearer" },
    });

    private static IResult InvalidRequest() => Message(401, "Invalid request");

    private static IResult Unauthorized() => Message(401, "Unauthorized.");

    private static IResult Message(int status, string message) => TypedResults.Json(new { data = new { message = new[] { message } } }, statusCode: status);

    /// <summary>api-key-secret: the answer carries Cache-Control: no-store.</summary>
    private sealed class NoStore(object body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.CacheControl = "no-store";
            return httpContext.Response.WriteAsJsonAsync(body);
        }
    }
}
