using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.Bybit;

/// <summary>
/// Bybit API Broker OAuth (provider-contracts.md §1). Differences from RFC 6749 that live here:
/// no <c>grant_type</c> on the token call, a browser-like User-Agent, a flat token response beside
/// <c>ret_code</c>-wrapped resource responses, the UID taken from the token's <c>GrantMemberID</c> claim,
/// and the user's OpenAPI key fetched right after the exchange.
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
        new ProviderCapabilities(Pkce: false, RefreshTokens: true, Revocation: false, ApiKeys: true));

    public override Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct)
    {
        var query = QueryString.Build(
            ("client_id", _options.ClientId!),
            ("response_type", "code"),
            ("redirect_uri", request.RedirectUri.AbsoluteUri),
            ("scope", _options.Scope),
            ("state", request.State));
        return Task.FromResult<ProviderResult<Uri>>(new Uri(_options.ResolvedAuthorizeUrl.AbsoluteUri + "?" + query));
    }

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

    // B3: exactly client_id, client_secret, code. Bybit's tool warns against grant_type/redirect_uri.
    private Task<ProviderResult<ProviderCredential>> ExchangeCodeAsync(string code, CT ct) =>
        PostTokenAsync(BybitDefaults.AccessTokenPath, "token",
            [new("client_id", _options.ClientId!), new("client_secret", _options.ClientSecret!), new("code", code)], ct);

    /// <summary>B6, both readings of client_secret (see <see cref="BybitOptions.RefreshClientSecret"/>).</summary>
    public override async Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct)
    {
        if (current.RefreshToken is null)
        {
            return await base.RefreshAsync(current, ct);
        }

        List<KeyValuePair<string, string>> Form(bool withSecret) => withSecret
            ? [new("client_id", _options.ClientId!), new("client_secret", _options.ClientSecret!), new("refresh_token", current.RefreshToken)]
            : [new("client_id", _options.ClientId!), new("refresh_token", current.RefreshToken)];

        var sendSecret = _options.RefreshClientSecret != BybitRefreshSecret.Omit;
        var result = await PostTokenAsync(BybitDefaults.RefreshTokenPath, "refresh", Form(sendSecret), ct);
        // 10003 is about the client, not the token: nothing was spent, so the other reading may be tried.
        return result.Failure?.Kind == ProviderFailureKind.InvalidClient && _options.RefreshClientSecret == BybitRefreshSecret.SendThenOmit
            ? await PostTokenAsync(BybitDefaults.RefreshTokenPath, "refresh", Form(false), ct)
            : result;
    }

    private async Task<ProviderResult<ProviderCredential>> PostTokenAsync(string path, string operation, List<KeyValuePair<string, string>> form, CT ct)
    {
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
        if (response.Json is { } json && BybitErrors.CodeOf(json.RootElement) is { } errorCode && errorCode != 0)
        {
            LogProviderCode(logger, operation, errorCode);
            return BybitErrors.ToFailure(errorCode, tokenEndpoint: true);
        }

        if (response.TransportFailure(operation) is { } transport)
        {
            return transport;
        }

        var root = response.Json!.RootElement;
        var accessToken = root.StringProperty("access_token");
        if (!response.IsSuccessStatus || string.IsNullOrEmpty(accessToken))
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}",
                "Bybit's token response has no access_token.");
        }

        var refreshToken = root.StringProperty("refresh_token");
        var now = time.GetUtcNow();
        return new ProviderCredential
        {
            AccessToken = accessToken,
            RefreshToken = string.IsNullOrEmpty(refreshToken) ? null : refreshToken,
            // Bybit sends lowercase "bearer"; the scheme is case-insensitive (RFC 6749 §5.1) and stored canonical.
            TokenType = "Bearer",
            AccessTokenExpiresAt = ExpiryOf(root.IntegerProperty("expires_in"), accessToken, now),
            RefreshTokenExpiresAt = string.IsNullOrEmpty(refreshToken) ? null : ExpiryOf(root.IntegerProperty("refresh_token_expires_in"), refreshToken, now),
        };
    }

    /// <summary>Lifetime from <c>*_expires_in</c>; failing that, the JWT's own <c>exp</c>.</summary>
    private static DateTimeOffset? ExpiryOf(long? expiresIn, string token, DateTimeOffset now)
    {
        if (expiresIn is > 0)
        {
            return now.AddSeconds(expiresIn.Value);
        }

        using var claims = JwtPayload.TryRead(token);
        return claims?.RootElement.IntegerProperty("exp") is { } exp ? DateTimeOffset.FromUnixTimeSeconds(exp) : null;
    }

    private async Task<ProviderResult<string>> ResolveAccountIdAsync(string accessToken, CT ct)
    {
        if (_options.AccountIdSource != BybitAccountIdSource.UidEndpoint)
        {
            using var claims = JwtPayload.TryRead(accessToken);
            if (claims?.RootElement.IntegerProperty(BybitDefaults.UidClaim) is { } uid)
            {
                return uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (_options.AccountIdSource == BybitAccountIdSource.TokenClaim)
            {
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_uid_claim",
                    "Bybit's access token carries no GrantMemberID claim.");
            }
        }

        var result = await GetResourceAsync(BybitDefaults.UidPath, "uid", accessToken, ct);
        if (!result.Succeeded)
        {
            return result.Failure;
        }

        using var document = result.Value;
        // UNCONFIRMED shape: third-party code reads a top-level "uid"; the likely envelope is result.uid. Accept both.
        var root = document.RootElement;
        var id = root.ObjectProperty("result")?.IntegerProperty("uid") ?? root.IntegerProperty("uid");
        return id is { } found
            ? found.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_uid", "Bybit's uid response has no uid.");
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
            return BybitErrors.ToFailure(code, tokenEndpoint: false);
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
}
