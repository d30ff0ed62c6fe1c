using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.Bybit;

/// <summary>
/// Bybit API Broker OAuth. Differences from RFC 6749 that live here: no <c>grant_type</c> on the token call, a
/// browser-like User-Agent, a token response read flat or inside <c>result</c>, <c>ret_code</c>-wrapped resource
/// responses, the UID from the documented <c>uid_bearer</c> endpoint cross-checked with the token's claim, the user's
/// OpenAPI key fetched right after the exchange, and a cancelled consent that may still redirect without a code.
/// </summary>
public sealed partial class BybitProvider(
    string id,
    BybitOptions options,
    ProviderHttpClient http,
    TimeProvider time,
    ILogger<BybitProvider> logger) : OAuthProviderBase
{
    private readonly BybitOptions _options = options;

    public override ProviderDescriptor Descriptor { get; } = new(
        id,
        options.DisplayName ?? BybitDefaults.DisplayName,
        // Note: PKCE is not documented for broker clients (only for Bybit's public ai-agent client), and Bybit
        // documents no revocation endpoint; the flow's CSRF defence is the browser-bound, single-use state.
        new ProviderCapabilities(Pkce: false, RefreshTokens: true, Revocation: false, ApiKeys: true))
    {
        RefreshMargin = options.RefreshMargin,
        // Help centre phase 3: "If you cancel the verification process, the redirection will still occur"; phase 2 says
        // the pop-up stays on Bybit. Either way no error parameter is documented, so a bare callback is a cancellation.
        CodelessCallbackMeansDenied = true,
    };

    public override Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct) =>
        Task.FromResult<ProviderResult<Uri>>(QueryString.Append(_options.ResolvedAuthorizeUrl,
            ("client_id", _options.ClientId!),
            ("response_type", "code"),
            ("redirect_uri", request.RedirectUri.AbsoluteUri),
            ("scope", _options.Scope),
            ("state", request.State)));

    public override async Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct)
    {
        var tokens = await ExchangeCodeAsync(completion.Code, ct);
        if (!tokens.Succeeded)
        {
            return tokens.Failure;
        }

        var accountId = await ResolveAccountIdAsync(tokens.Value.AccessToken, ct);
        if (!accountId.Succeeded)
        {
            return accountId.Failure;
        }

        var apiKey = await FetchOpenApiKeyAsync(tokens.Value.AccessToken, ct);
        if (!apiKey.Succeeded)
        {
            return apiKey.Failure;
        }

        var credential = tokens.Value with { ApiKey = apiKey.Value.ApiKey, ApiSecret = apiKey.Value.ApiSecret };
        using var claims = JwtPayload.TryRead(credential.AccessToken);
        var scopes = claims?.RootElement.StringArrayProperty("ApprovedScope") is { Count: > 0 } approved
            ? approved
            : [_options.Scope];
        return new ProviderGrant(accountId.Value, null, credential, scopes);
    }

    // Help centre phase 4 and the broker guidance: exactly client_id, client_secret, code, as a form. Bybit's own client
    // warns against grant_type and redirect_uri.
    private Task<ProviderResult<ProviderCredential>> ExchangeCodeAsync(string code, CT ct) =>
        PostTokenAsync(BybitDefaults.AccessTokenPath, BybitCall.CodeExchange,
            [new("client_id", _options.ClientId!), new("client_secret", _options.ClientSecret!), new("code", code)], ct);

    /// <summary>Refresh (modules/oauth.md), in the one reading of client_secret configured (see <see cref="BybitOptions.RefreshClientSecret"/>).</summary>
    public override async Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct)
    {
        if (current.RefreshToken is null)
        {
            return await base.RefreshAsync(current, ct);
        }

        // The token is sent once. No document says a 10003 answer leaves the refresh token unspent, so trying the other
        // reading would send a possibly rotated token again (RFC 9110 §9.2.2); 10003 opens the provider's breaker instead.
        List<KeyValuePair<string, string>> form = _options.RefreshClientSecret == BybitRefreshSecret.Omit
            ? [new("client_id", _options.ClientId!), new("refresh_token", current.RefreshToken)]
            : [new("client_id", _options.ClientId!), new("client_secret", _options.ClientSecret!), new("refresh_token", current.RefreshToken)];
        return await PostTokenAsync(BybitDefaults.RefreshTokenPath, BybitCall.Refresh, form, ct);
    }

    private async Task<ProviderResult<ProviderCredential>> PostTokenAsync(string path, BybitCall call, List<KeyValuePair<string, string>> form, CT ct)
    {
        var operation = call == BybitCall.Refresh ? "refresh" : "token";
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint.Combine(_options.ResolvedApiBaseUrl, path))
        {
            Content = new FormUrlEncodedContent(form),
        };
        request.Headers.TryAddWithoutValidation("User-Agent", _options.UserAgent);
        request.Headers.Accept.ParseAdd("application/json");

        var sent = await http.SendAsync(Descriptor.Id, operation, request, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        using var response = sent.Value;
        // The broker guidance shows a flat body; Bybit's own client reads `tokenResp.result || tokenResp` for the exchange
        // and `resp.result||resp` for the refresh, and treats a non-zero retCode as an error only without an access_token.
        var root = response.Json?.RootElement;
        var body = root?.ObjectProperty("result") ?? root;
        var accessToken = body?.StringProperty("access_token");
        if (string.IsNullOrEmpty(accessToken) && root is { } envelope && BybitErrors.CodeOf(envelope) is { } errorCode && errorCode != 0)
        {
            LogProviderCode(logger, operation, errorCode);
            return BybitErrors.ToFailure(errorCode, call);
        }

        if (response.TransportFailure(operation) is { } transport)
        {
            return transport;
        }

        if (!response.IsSuccessStatus || string.IsNullOrEmpty(accessToken))
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}",
                $"Bybit's {operation} response has no access_token.");
        }

        var refreshToken = body!.Value.StringProperty("refresh_token");
        var now = time.GetUtcNow();
        return new ProviderCredential
        {
            AccessToken = accessToken,
            RefreshToken = string.IsNullOrEmpty(refreshToken) ? null : refreshToken,
            // Bybit sends lowercase "bearer"; the scheme is case-insensitive (RFC 6749 §5.1) and stored canonical.
            TokenType = "Bearer",
            AccessTokenExpiresAt = ExpiryOf(body.Value.SecondsProperty("expires_in"), accessToken, now),
            RefreshTokenExpiresAt = string.IsNullOrEmpty(refreshToken) ? null : ExpiryOf(body.Value.SecondsProperty("refresh_token_expires_in"), refreshToken, now),
        };
    }

    /// <summary>Lifetime from <c>*_expires_in</c>; failing that, the JWT's own <c>exp</c>. Clamped, never throwing.</summary>
    private static DateTimeOffset? ExpiryOf(long? expiresIn, string token, DateTimeOffset now)
    {
        if (ProviderNumbers.ExpiryAfter(expiresIn, now) is { } fromLifetime)
        {
            return fromLifetime;
        }

        using var claims = JwtPayload.TryRead(token);
        return claims is null ? null : ProviderNumbers.UnixTime(claims.RootElement.SecondsProperty("exp"), now);
    }

    private async Task<ProviderResult<string>> ResolveAccountIdAsync(string accessToken, CT ct)
    {
        string? claimed;
        using (var claims = JwtPayload.TryRead(accessToken))
        {
            claimed = claims?.RootElement.IntegerProperty(BybitDefaults.UidClaim) is { } uid ? uid.ToString(CultureInfo.InvariantCulture) : null;
        }

        switch (_options.AccountIdSource)
        {
            case BybitAccountIdSource.TokenClaim:
                return claimed is not null
                    ? claimed
                    : new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_uid_claim", "Bybit's access token carries no GrantMemberID claim.");
            case BybitAccountIdSource.TokenClaimThenUidEndpoint when claimed is not null:
                return claimed;
        }

        var result = await GetResourceAsync(BybitDefaults.UidPath, "uid", accessToken, ct);
        if (!result.Succeeded)
        {
            return result.Failure;
        }

        string? fromEndpoint;
        using (var document = result.Value)
        {
            // The field name is undocumented (phase 5 names only ret_code and ret_msg): the only field evidence, third-party
            // code, reads a top-level "uid"; an envelope like the openapi call's would put it in result.uid. Both are read.
            var root = document.RootElement;
            fromEndpoint = (root.ObjectProperty("result")?.IntegerProperty("uid") ?? root.IntegerProperty("uid"))?.ToString(CultureInfo.InvariantCulture);
        }

        if (fromEndpoint is null)
        {
            if (claimed is null)
            {
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_uid", "Bybit's uid_bearer answer has no uid, and the access token no GrantMemberID.");
            }

            LogUidFromClaim(logger, Descriptor.Id);
            return claimed;
        }

        if (claimed is not null && claimed != fromEndpoint)
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "uid_mismatch",
                "Bybit's uid_bearer answer names another account than the access token's GrantMemberID claim.");
        }

        return fromEndpoint;
    }

    private async Task<ProviderResult<(string ApiKey, string ApiSecret)>> FetchOpenApiKeyAsync(string accessToken, CT ct)
    {
        var result = await GetResourceAsync(BybitDefaults.OpenApiKeyPath, "openapi", accessToken, ct);
        if (!result.Succeeded)
        {
            return result.Failure;
        }

        using var document = result.Value;
        var body = document.RootElement.ObjectProperty("result");
        var apiKey = body?.StringProperty("api_key");
        var apiSecret = body?.StringProperty("api_secret");
        return string.IsNullOrEmpty(apiKey) || string.IsNullOrEmpty(apiSecret)
            ? new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_api_key", "Bybit's OpenAPI response has no api_key/api_secret.")
            : (apiKey, apiSecret);
    }

    /// <summary>GET on a <c>ret_code</c>-wrapped resource endpoint with the access token as Bearer.</summary>
    private async Task<ProviderResult<JsonDocument>> GetResourceAsync(string path, string operation, string accessToken, CT ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Endpoint.Combine(_options.ResolvedApiBaseUrl, path));
        request.Headers.Authorization = new("Bearer", accessToken);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", _options.UserAgent);

        var sent = await http.SendAsync(Descriptor.Id, operation, request, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        var response = sent.Value;
        if (response.Json is { } json && BybitErrors.CodeOf(json.RootElement) is { } code && code != 0)
        {
            LogProviderCode(logger, operation, code);
            response.Dispose();
            return BybitErrors.ToFailure(code, BybitCall.Resource);
        }

        if (response.TransportFailure(operation) is { } transport)
        {
            response.Dispose();
            return transport;
        }

        if (!response.IsSuccessStatus)
        {
            response.Dispose();
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}",
                $"Bybit answered the {operation} request with HTTP {(int)response.Status} and no error code.");
        }

        return response.Json!;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bybit {Operation} call answered with code {BybitCode}")]
    private static partial void LogProviderCode(ILogger logger, string operation, long bybitCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bybit ({ProviderId}) uid_bearer answered success without a recognisable uid field; the access token's GrantMemberID was used")]
    private static partial void LogUidFromClaim(ILogger logger, string providerId);
}
