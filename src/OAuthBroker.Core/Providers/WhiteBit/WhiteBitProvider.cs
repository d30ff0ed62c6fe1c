using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// WhiteBIT (openapi/oauth2.yaml and the Fast API Key guides). Fast API Key flow: authorize with camelCase
/// <c>clientId</c> and PKCE S256, exchange without <c>grant_type</c> (answer wrapped in <c>data</c>), then look for the
/// user's key (<c>/oauth2/api-key/info</c>), fetch its secret once (409: delete the key this flow created, start over),
/// back off on 423, and vault key and secret — each look one call of <see cref="IDeferredAuthorization"/>, the waiting
/// between them the caller's (the callback looks once, scheduled work the rest). The documents disagree on the tokens of this flow: older revisions issue a
/// 4-hour access token and no refresh token, the newest a short-lived access token with a refresh token; both are
/// handled — a refresh token, when issued, is renewed through <c>/oauth2/refresh_token</c> (1 request/s, paced here).
/// Unlink deletes the key. The classic flow (rotating refresh token, no key) is a configuration option.
/// </summary>
public sealed class WhiteBitProvider : OAuthProviderBase, IDeferredAuthorization
{
    private readonly WhiteBitOptions _options;
    private readonly ProviderHttpClient _http;
    private readonly TimeProvider _time;
    private readonly WhiteBitRefreshPacer _pacer;
    private readonly WhiteBitKeyDeletion _deletion;
    private readonly WhiteBitKeyIssuance _issuance;

    /// <param name="pacer">The refresh pacer shared by WhiteBIT providers on one server; a private one when not given.</param>
    public WhiteBitProvider(string id, WhiteBitOptions options, ProviderHttpClient http, TimeProvider time, ILogger<WhiteBitProvider> logger, WhiteBitRefreshPacer? pacer = null)
    {
        _options = options;
        _http = http;
        _time = time;
        _pacer = pacer ?? new WhiteBitRefreshPacer(time);
        var keys = new WhiteBitApiKeys(id, options.ResolvedApiKeyServer, http);
        var tokens = new WhiteBitTokenClock(time);
        _deletion = new WhiteBitKeyDeletion(id, options, keys, tokens, time, logger);
        _issuance = new WhiteBitKeyIssuance(id, options, keys, _deletion, tokens, time, logger);
        Descriptor = new ProviderDescriptor(id, options.DisplayName ?? WhiteBitDefaults.DisplayName,
            // Both flows can issue refresh tokens (the Fast flow per the newest documents); a link shows whether its grant has one.
            Fast
                ? new ProviderCapabilities(Pkce: true, RefreshTokens: true, Revocation: true, ApiKeys: true)
                : new ProviderCapabilities(Pkce: false, RefreshTokens: true, Revocation: false, ApiKeys: false))
        {
            RefreshMargin = options.RefreshMargin,
        };
    }

    public override ProviderDescriptor Descriptor { get; }

    private bool Fast => _options.Flow == WhiteBitFlow.FastApiKey;

    public override Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct)
    {
        // Scopes cannot be requested: they are fixed when the client is registered (openapi/oauth2.yaml, /auth/login).
        var parameters = new List<(string, string)> { ("clientId", _options.ClientId!), ("state", request.State) };
        if (Fast)
        {
            parameters.Add(("redirect_uri", request.RedirectUri.AbsoluteUri));
            parameters.Add(("code_challenge", request.CodeChallenge!));
            parameters.Add(("code_challenge_method", "S256"));
        }

        return Task.FromResult<ProviderResult<Uri>>(QueryString.Append(Endpoint.Combine(_options.ResolvedServer, WhiteBitDefaults.AuthorizePath), [.. parameters]));
    }

    /// <summary>
    /// Not used: WhiteBIT's authorization cannot finish within one call (the user creates the key after the exchange, and
    /// its secret may be locked for minutes), so it is completed only through <see cref="IDeferredAuthorization"/> — the
    /// callback's exchange and first look (<c>Flows.DeferredProviderLeg</c>), then scheduled work (<c>Links.PendingKeyContinuation</c>).
    /// Refuses before anything is sent, so a caller that comes here by mistake spends no code.
    /// </summary>
    public override Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct) =>
        throw new NotSupportedException("WhiteBIT authorizations complete through IDeferredAuthorization: ExchangeCodeAsync, then ContinueAsync until done, or AbandonAsync.");

    /// <summary>get-access-token: body <c>client_id</c>, <c>client_secret</c>, <c>code</c> (+ <c>code_verifier</c> in the Fast flow); no <c>grant_type</c>.</summary>
    public async Task<ProviderResult<PendingAuthorization>> ExchangeCodeAsync(AuthorizationCompletion completion, CT ct)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("client_id", _options.ClientId!),
            new("client_secret", _options.ClientSecret!),
            new("code", completion.Code),
        };
        if (Fast && completion.CodeVerifier is not null)
        {
            form.Add(new("code_verifier", completion.CodeVerifier));
        }

        var tokens = await PostTokenAsync(WhiteBitDefaults.TokenPath, refresh: false, form, ct);
        if (!tokens.Succeeded)
        {
            return tokens.Failure;
        }

        var (credential, scopes) = tokens.Value;
        // Both readings of where the public key comes from: delivered on the callback (the older guide, mechanism
        // "PENDING"), else the key's externalId is the public key sent as X-TXC-APIKEY (the newer guide). Kept with the
        // tokens, which are vaulted, until the key is known.
        if (completion.Response.Extra.TryGetValue(_options.ApiKeyCallbackParameter, out var delivered) && !string.IsNullOrWhiteSpace(delivered))
        {
            credential = credential with { ApiKey = delivered };
        }

        var now = _time.GetUtcNow();
        var progress = new WhiteBitProgress(now + _options.PendingKeyWaitTimeout, null, null, null);
        return new PendingAuthorization(credential, scopes, progress.ToDictionary(), now);
    }

    /// <summary>
    /// One look: <c>/info</c>, then the secret once the key is there (<see cref="WhiteBitKeyIssuance"/>). The classic flow
    /// has no key: it completes at once.
    /// </summary>
    public Task<PendingStep> ContinueAsync(PendingAuthorization pending, CT ct)
    {
        if (Fast)
        {
            return _issuance.ContinueAsync(pending, ct);
        }

        // The classic flow documents no endpoint that names the account; each authorization is its own link.
        var accountId = "classic-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        return Task.FromResult<PendingStep>(new PendingStep.Completed(new ProviderGrant(accountId, null, pending.Credential, pending.Scopes)));
    }

    /// <summary>Deletes the key this flow created, if one appeared; a key that was there before, or that a link holds, stays.</summary>
    public Task<RevocationResult> AbandonAsync(PendingAuthorization pending, CT ct) => Fast
        ? _issuance.AbandonAsync(pending, ct)
        : Task.FromResult(new RevocationResult(RevocationStatus.NoLongerPossible, "The classic flow creates nothing at WhiteBIT to remove."));

    /// <summary>
    /// <c>/oauth2/refresh_token</c> with the field <c>token</c>, for both flows whenever a refresh token was issued (the
    /// classic flow always; the Fast flow per the newest documents). Every refresh returns a new pair; calls are paced
    /// to the documented 1 request/s.
    /// </summary>
    public override async Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct)
    {
        if (current.RefreshToken is null)
        {
            return new ProviderFailure(ProviderFailureKind.Rejected, "no_refresh",
                "WhiteBIT issued no refresh token for this link (the older reading of the Fast API Key flow: a 4-hour access token only); it is kept until the access token expires.");
        }

        var refreshed = await _pacer.RunAsync(() => PostTokenAsync(WhiteBitDefaults.RefreshPath, refresh: true,
            [new("client_id", _options.ClientId!), new("client_secret", _options.ClientSecret!), new("token", current.RefreshToken)], ct), ct);
        return refreshed.Succeeded ? refreshed.Value.Credential : refreshed.Failure;
    }

    /// <summary>
    /// Deletes the user's API key (api-key-delete) with a live access token. An expired or refused access token with a refresh
    /// token still held is not a dead end: the answer asks the caller to refresh first (<see cref="RevocationResult.RefreshFirst"/>).
    /// </summary>
    public override async Task<RevocationResult> RevokeAsync(ProviderCredential credential, CT ct)
    {
        if (!Fast)
        {
            return RevocationResult.NotSupported(Descriptor.DisplayName);
        }

        if (credential.Metadata?.GetValueOrDefault(WhiteBitDefaults.ExternalIdMetadata) is not { } externalId)
        {
            return new RevocationResult(RevocationStatus.NoLongerPossible, "No WhiteBIT API key id was recorded for this link; delete the key in WhiteBIT's API settings.");
        }

        return credential.AccessTokenExpiresAt <= _time.GetUtcNow()
            ? _deletion.TokenExpired(credential)
            : await _deletion.DeleteAsync(credential, externalId, ct);
    }

    private async Task<ProviderResult<(ProviderCredential Credential, IReadOnlyList<string> Scopes)>> PostTokenAsync(string path, bool refresh, List<KeyValuePair<string, string>> form, CT ct)
    {
        var operation = refresh ? "refresh" : "token";
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint.Combine(_options.ResolvedServer, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.ParseAdd("application/json");
        var sent = await _http.SendAsync(Descriptor.Id, operation, request, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        using var response = sent.Value;
        if (!response.IsSuccessStatus)
        {
            return WhiteBitErrors.TokenEndpoint((int)response.Status, response.Json?.RootElement, response.RetryAfter, refresh);
        }

        if (response.TransportFailure(operation) is { } transport)
        {
            return transport;
        }

        // Responses are wrapped in "data" rather than RFC 6749's flat form.
        var now = _time.GetUtcNow();
        var data = response.Json!.RootElement.ObjectProperty("data");
        var credential = data is { } body ? OAuth2Responses.ReadCredential(body, now) : null;
        if (credential is null)
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_access_token", $"WhiteBIT's {operation} response has no data.access_token.");
        }

        // The answer carries no refresh-token lifetime; openapi/oauth2.yaml documents 600 seconds.
        if (credential.RefreshToken is not null && credential.RefreshTokenExpiresAt is null)
        {
            credential = credential with { RefreshTokenExpiresAt = ProviderNumbers.ExpiryAfter((long)_options.RefreshTokenLifetime.TotalSeconds, now) };
        }

        // Scopes come back comma-separated.
        return (credential, OAuth2Responses.Scopes(data!.Value, [], ','));
    }

}
