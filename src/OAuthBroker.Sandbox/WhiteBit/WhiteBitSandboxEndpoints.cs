using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OAuthBroker.Sandbox.Pages;

namespace OAuthBroker.Sandbox.WhiteBit;

/// <summary>
/// WhiteBIT's documented dialect (provider-contracts.md §2): <c>/auth/login</c> with camelCase <c>clientId</c>,
/// <c>/oauth2/token</c> without <c>grant_type</c> answering in <c>data</c> (401 / 422 error shapes), classic refresh with
/// the field <c>token</c> (rotation, 1 request/s, 400 shape), and the API-key endpoints: info, the secret once (409
/// afterwards, <c>Cache-Control: no-store</c>), delete. 423 is produced with faults.
/// </summary>
public static class WhiteBitSandboxEndpoints
{
    public const string Prefix = "/whitebit";
    private const string Realm = "whitebit";
    private const string Scopes = "general,show.userinfo,apikeys.read,apikeys.delete";

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

    /// <summary>API keys and the accounts that have a disabled one.</summary>
    public sealed class State
    {
        public ConcurrentDictionary<StandardGrants.Grant, Key> KeysByGrant { get; } = new();
        public ConcurrentDictionary<string, Key> KeysById { get; } = new(StringComparer.Ordinal);
        public ConcurrentDictionary<string, byte> AccountsWithDisabledKey { get; } = new(StringComparer.Ordinal);
        public ConcurrentDictionary<string, DateTimeOffset> LastRefreshByClient { get; } = new(StringComparer.Ordinal);
    }

    public sealed class Key(string externalId, string clientId, string secret, bool enabled)
    {
        public string ExternalId { get; } = externalId;
        public string ClientId { get; } = clientId;
        public string Secret { get; } = secret;
        public bool Enabled { get; } = enabled;
        private int _polls;
        private int _secretReads;

        public bool Deleted { get; set; }

        public int Poll() => Interlocked.Increment(ref _polls);

        public int ReadSecret() => Interlocked.Increment(ref _secretReads);
    }

    private static IResult Login(HttpRequest request, IOptions<SandboxOptions> options)
    {
        var query = request.Query;
        // W-A: the parameter is camelCase clientId; client_id is not WhiteBIT's.
        var client = options.Value.WhiteBit.Clients.FirstOrDefault(c => c.ClientId == query["clientId"]);
        if (client is null)
        {
            return ConsentPage.Error("clientId is missing or unknown.");
        }

        var fast = !string.IsNullOrEmpty(query["code_challenge"]);
        string? redirectUri;
        if (fast)
        {
            if (query["code_challenge_method"] != "S256" || !client.RedirectUris.Contains(query["redirect_uri"].ToString(), StringComparer.Ordinal))
            {
                return ConsentPage.Error("The Fast API Key flow needs code_challenge_method=S256 and a registered redirect_uri.");
            }

            redirectUri = query["redirect_uri"];
        }
        else
        {
            // Classic flow: the redirect URI is the one registered with the client.
            redirectUri = client.RedirectUris.FirstOrDefault();
        }

        return ConsentPage.Render("WhiteBIT", client.ClientId, fast ? "Fast API Key" : "classic OAuth", Prefix + "/auth/consent",
            new Dictionary<string, string?> { ["client_id"] = client.ClientId, ["redirect_uri"] = redirectUri, ["state"] = query["state"], ["code_challenge"] = query["code_challenge"] },
            "wb" + Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "    <label><input type=\"checkbox\" name=\"disabled_key\"> The account already has a disabled key for this platform</label>\n");
    }

    private static async Task<IResult> Consent(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, State state)
    {
        var form = await request.ReadFormAsync();
        var client = options.Value.WhiteBit.Clients.FirstOrDefault(c => c.ClientId == form["client_id"]);
        var redirectUri = form["redirect_uri"].ToString();
        if (client is null || !client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal))
        {
            return ConsentPage.Error("Consent form does not match a registered client.");
        }

        if (form["action"] != "approve")
        {
            return ConsentPage.Message("Authorization cancelled. You can close this window.");
        }

        var account = form["account"].ToString();
        if (form["disabled_key"] == "on")
        {
            state.AccountsWithDisabledKey[account] = 0;
        }

        var challenge = string.IsNullOrEmpty(form["code_challenge"]) ? null : form["code_challenge"].ToString();
        var code = grants.IssueCode(Realm, client.ClientId, redirectUri, Scopes, account, challenge, null, TimeSpan.FromMinutes(10));
        var location = redirectUri + (redirectUri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "code=" + Uri.EscapeDataString(code);
        if (!string.IsNullOrEmpty(form["state"]))
        {
            location += "&state=" + Uri.EscapeDataString(form["state"].ToString());
        }

        return TypedResults.Redirect(location);
    }

    private static async Task<IResult> Token(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants)
    {
        var settings = options.Value.WhiteBit;
        var form = await request.ReadFormAsync();
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
        var (_, access, refresh) = grants.NewGrant(code, "wb_", fast ? settings.FastAccessTokenLifetime : settings.ClassicAccessTokenLifetime);
        return fast ? FastTokens(access, settings) : ClassicTokens(access, refresh, settings);
    }

    private static async Task<IResult> Refresh(HttpRequest request, IOptions<SandboxOptions> options, StandardGrants grants, State state, TimeProvider time)
    {
        var settings = options.Value.WhiteBit;
        var form = await request.ReadFormAsync();
        var client = settings.Clients.FirstOrDefault(c => c.ClientId == form["client_id"] && c.ClientSecret == form["client_secret"]);
        if (client is null)
        {
            return InvalidRequest();
        }

        // W-R: at most one refresh per second.
        var now = time.GetUtcNow();
        if (state.LastRefreshByClient.TryGetValue(client.ClientId, out var last) && now - last < TimeSpan.FromSeconds(1))
        {
            return TypedResults.Json(new { data = new { message = new[] { "Too Many Attempts." } } }, statusCode: 429);
        }

        state.LastRefreshByClient[client.ClientId] = now;
        var refreshed = grants.Refresh(Realm, client.ClientId, form["token"], "wb_", settings.ClassicAccessTokenLifetime);
        return refreshed is { } r
            ? ClassicTokens(r.AccessToken, r.RefreshToken, settings)
            : TypedResults.Json(new { data = new { token = new[] { "Invalid token." } } }, statusCode: 400);
    }

    private static IResult Info(HttpRequest request, StandardGrants grants, State state, IOptions<SandboxOptions> options, IssuedSecrets issued)
    {
        if (Authenticate(request, grants) is not { } grant)
        {
            return Unauthorized();
        }

        var key = state.KeysByGrant.GetOrAdd(grant, g =>
        {
            var created = new Key(Guid.NewGuid().ToString(), g.ClientId, StandardGrantsSecret(issued), enabled: !state.AccountsWithDisabledKey.ContainsKey(g.Account));
            state.KeysById[created.ExternalId] = created;
            return created;
        });
        var visible = !key.Deleted && key.Poll() >= options.Value.WhiteBit.KeyReadyAfterPolls;
        return TypedResults.Json(new
        {
            data = new
            {
                exists = visible,
                isEnabled = visible && key.Enabled,
                externalId = visible ? key.ExternalId : null,
                permissions = new[] { new { name = "trade", title = "Trade", urls = new[] { new { url = "/api/v4/order/new", enable = true } } } },
            },
        });
    }

    /// <summary>The key named in the path, if the bearer's client owns it; otherwise the documented 401/404/403.</summary>
    private static (Key? Key, IResult? Refusal) OwnedKey(string externalId, HttpRequest request, StandardGrants grants, State state)
    {
        if (Authenticate(request, grants) is not { } grant)
        {
            return (null, Unauthorized());
        }

        if (!state.KeysById.TryGetValue(externalId, out var key) || key.Deleted)
        {
            return (null, Message(404, "Key not found."));
        }

        return key.ClientId != grant.ClientId ? (null, Message(403, "Forbidden.")) : (key, null);
    }

    private static IResult Secret(string externalId, HttpRequest request, StandardGrants grants, State state)
    {
        var (key, refusal) = OwnedKey(externalId, request, grants, state);
        if (key is null)
        {
            return refusal!;
        }

        if (key.ReadSecret() > 1)
        {
            return Message(409, "Secret already retrieved.");
        }

        return new NoStore(new { data = new { apiSecret = key.Secret } });
    }

    private static IResult Delete(string externalId, HttpRequest request, StandardGrants grants, State state)
    {
        var (key, refusal) = OwnedKey(externalId, request, grants, state);
        if (key is null)
        {
            return refusal!;
        }

        key.Deleted = true;
        return TypedResults.Json(new { data = Array.Empty<object>() });
    }

    private static StandardGrants.Grant? Authenticate(HttpRequest request, StandardGrants grants)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) ? grants.Authenticate(Realm, header["Bearer ".Length..]) : null;
    }

    private static string StandardGrantsSecret(IssuedSecrets issued)
    {
        var secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
        issued.Add(secret);
        return secret;
    }

    private static IResult FastTokens(string access, WhiteBitSandboxOptions settings)
    {
        var body = new Dictionary<string, object?>
        {
            ["access_token"] = access,
            ["expires_in"] = (long)settings.FastAccessTokenLifetime.TotalSeconds,
            ["scope"] = Scopes,
            ["token_type"] = "Bearer",
        };
        if (settings.FastRefreshTokenAsNull)
        {
            body["refresh_token"] = null;
        }

        return TypedResults.Json(new { data = body });
    }

    private static IResult ClassicTokens(string access, string refresh, WhiteBitSandboxOptions settings) => TypedResults.Json(new
    {
        data = new { access_token = access, expires_in = (long)settings.ClassicAccessTokenLifetime.TotalSeconds, refresh_token = refresh, scope = Scopes, token_type = "Bearer" },
    });

    private static IResult InvalidRequest() => Message(401, "Invalid request");

    private static IResult Unauthorized() => Message(401, "Unauthorized.");

    private static IResult Message(int status, string message) => TypedResults.Json(new { data = new { message = new[] { message } } }, statusCode: status);

    /// <summary>W-K2: the secret answer carries Cache-Control: no-store.</summary>
    private sealed class NoStore(object body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.CacheControl = "no-store";
            return httpContext.Response.WriteAsJsonAsync(body);
        }
    }
}
