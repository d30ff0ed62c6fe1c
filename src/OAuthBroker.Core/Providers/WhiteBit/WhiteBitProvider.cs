using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// WhiteBIT (openapi/oauth2.yaml and the Fast API Key guides). Fast API Key flow: authorize with camelCase
/// <c>clientId</c> and PKCE S256, exchange without <c>grant_type</c> (answer wrapped in <c>data</c>), wait for the
/// user's key (<c>/oauth2/api-key/info</c>), fetch its secret once (409: delete the key this flow created, start over),
/// back off on 423, and vault key and secret. The documents disagree on the tokens of this flow: older revisions issue a
/// 4-hour access token and no refresh token, the newest a short-lived access token with a refresh token; both are
/// handled — a refresh token, when issued, is renewed through <c>/oauth2/refresh_token</c> (1 request/s, paced here).
/// Unlink deletes the key. The classic flow (rotating refresh token, no key) is a configuration option.
/// </summary>
public sealed partial class WhiteBitProvider : OAuthProviderBase, IDeferredAuthorization
{
    /// <summary>
    /// A 401 counts as "the access token ran out" only this close to its expiry. A 401 on a fresh token is the other
    /// documented cause — "token does not carry the apikeys.* scope" — which a refresh cannot cure, and retrying it
    /// after a refresh would loop.
    /// </summary>
    private static readonly TimeSpan ExpirySkew = TimeSpan.FromMinutes(1);

    private readonly WhiteBitOptions _options;
    private readonly ProviderHttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger<WhiteBitProvider> _logger;
    private readonly WhiteBitApiKeys _keys;
    private readonly WhiteBitRefreshPacer _pacer;

    /// <param name="pacer">The refresh pacer shared by WhiteBIT providers on one server; a private one when not given.</param>
    public WhiteBitProvider(string id, WhiteBitOptions options, ProviderHttpClient http, TimeProvider time, ILogger<WhiteBitProvider> logger, WhiteBitRefreshPacer? pacer = null)
    {
        _options = options;
        _http = http;
        _time = time;
        _logger = logger;
        _keys = new WhiteBitApiKeys(id, options.ResolvedApiKeyServer, http);
        _pacer = pacer ?? new WhiteBitRefreshPacer(time);
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
    /// Within the callback request: the exchange, then <see cref="ContinueAsync"/> until done or until the in-request
    /// budgets (<see cref="WhiteBitOptions.ApiKeyPollTimeout"/>, <see cref="WhiteBitOptions.LockedTotalWait"/>) run out;
    /// then <see cref="AbandonAsync"/> removes a key this flow created, so the user can connect again.
    /// </summary>
    public override async Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct)
    {
        var exchanged = await ExchangeCodeAsync(completion, ct);
        if (!exchanged.Succeeded)
        {
            return exchanged.Failure;
        }

        var pending = exchanged.Value;
        if (!Fast)
        {
            return ((PendingStep.Completed)await ContinueAsync(pending, ct)).Grant;
        }

        var pollDeadline = _time.GetUtcNow() + _options.ApiKeyPollTimeout;
        DateTimeOffset? lockDeadline = null;
        var refreshed = false;
        while (true)
        {
            var step = await ContinueAsync(pending, ct);
            switch (step)
            {
                case PendingStep.Completed done:
                    return done.Grant;
                case PendingStep.RefreshNeeded refresh:
                    // The credential exists nowhere else yet, so spending its refresh token here loses nothing. Once only:
                    // a token that needs renewing again within one request is not what the documents describe.
                    if (refreshed)
                    {
                        return await GiveUpAsync(refresh.Pending, new ProviderFailure(ProviderFailureKind.TokenRejected, "token_rejected", "WhiteBIT refused the renewed access token as well."), ct);
                    }

                    var renewal = await RefreshAsync(refresh.Pending.Credential, ct);
                    if (!renewal.Succeeded)
                    {
                        return await GiveUpAsync(refresh.Pending, renewal.Failure, ct);
                    }

                    refreshed = true;
                    pending = refresh.Pending with { Credential = Merge(refresh.Pending.Credential, renewal.Value) };
                    continue;
                case PendingStep.Failed failed:
                    return await GiveUpAsync(pending, failed.Failure, ct);
                case PendingStep.Waiting waiting:
                    var deadline = waiting.Reason == PendingWait.Locked
                        ? lockDeadline ??= _time.GetUtcNow() + _options.LockedTotalWait
                        : pollDeadline;
                    if (waiting.Next.NextAttemptAt > deadline)
                    {
                        return await GiveUpAsync(waiting.Next, waiting.Reason == PendingWait.Locked ? Locked() : NoKeyCreated(), ct);
                    }

                    var wait = waiting.Next.NextAttemptAt - _time.GetUtcNow();
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, _time, ct);
                    }

                    pending = waiting.Next;
                    continue;
            }
        }
    }

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
    /// One look: <c>/info</c>, then the secret once the key is there. The decision matrix is the one on the api-key-info
    /// page: (true, true) continue, (true, false) a disabled key the user must delete, (false, false) not yet.
    /// </summary>
    public async Task<PendingStep> ContinueAsync(PendingAuthorization pending, CT ct)
    {
        if (!Fast)
        {
            // The classic flow documents no endpoint that names the account; each authorization is its own link.
            var accountId = "classic-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            return new PendingStep.Completed(new ProviderGrant(accountId, null, pending.Credential, pending.Scopes));
        }

        var now = _time.GetUtcNow();
        var progress = WhiteBitProgress.From(pending.Progress);
        if (pending.Credential.AccessTokenExpiresAt <= now)
        {
            return RefreshOrFail(pending);
        }

        var info = await _keys.InfoAsync(pending.Credential.AccessToken, ct);
        switch (info.Status)
        {
            case 401 when ExpiresSoon(pending.Credential):
                return RefreshOrFail(pending);
            case 423:
                return WaitOutLock(pending, progress, now);
            case not 200:
                return new PendingStep.Failed(WhiteBitApiKeys.Failure(info, "api-key info"));
        }

        var key = info.Info!;
        progress = progress with { KeyAtFirstLook = progress.KeyAtFirstLook ?? (key.Exists ? key.ExternalId ?? "" : "") };
        if (key.Exists && !key.Enabled)
        {
            return new PendingStep.Failed(new ProviderFailure(ProviderFailureKind.AccountNotEligible, "key_disabled",
                "The WhiteBIT account has a disabled API key for this platform; the user must delete it in WhiteBIT's dashboard, then connect again."));
        }

        if (!key.Exists || key.ExternalId is not { } externalId)
        {
            var next = now + _options.ApiKeyPollInterval;
            return next > progress.KeyWaitUntil
                ? new PendingStep.Failed(NoKeyCreated())
                : new PendingStep.Waiting(pending with { Progress = progress.ToDictionary(), NextAttemptAt = next }, PendingWait.NotYetCreated);
        }

        if (pending.ExistingAccountIds.Contains(externalId))
        {
            return new PendingStep.Failed(KeyAlreadyLinked());
        }

        var secret = await _keys.SecretAsync(pending.Credential.AccessToken, externalId, ct);
        switch (secret.Status)
        {
            case 200 when secret.Secret is { } apiSecret:
                return new PendingStep.Completed(Grant(pending, externalId, apiSecret));
            case 423:
                return WaitOutLock(pending with { Progress = progress.ToDictionary() }, progress, now);
            case 409 when progress.CreatedDuringFlow(externalId):
                // Documented recovery (api-key-secret, 409): "Recovery requires deleting the key and restarting". Only for a
                // key this flow created: a secret nobody holds is useless, and the key would block the next attempt.
                var deleted = await DeleteKeyAsync(pending.Credential, externalId, ct);
                LogSecretAlreadyRetrieved(_logger, Descriptor.Id, deleted.Status);
                return new PendingStep.Failed(new ProviderFailure(ProviderFailureKind.RestartRequired, "409",
                    "WhiteBIT says the key's secret was already retrieved; the key was deleted as WhiteBIT documents, and the user must connect again."));
            case 409:
                // The key was there before this flow looked: one active key per (user, partner), and its secret was fetched
                // before — by the link that uses it. Deleting it would silently break that link.
                return new PendingStep.Failed(KeyAlreadyLinked());
            case 401 when ExpiresSoon(pending.Credential):
                return RefreshOrFail(pending);
            default:
                return new PendingStep.Failed(WhiteBitApiKeys.Failure(secret, "api-key secret"));
        }
    }

    /// <summary>Deletes the key this flow created, if one appeared; a key that was there before, or that a link holds, stays.</summary>
    public async Task<RevocationResult> AbandonAsync(PendingAuthorization pending, CT ct)
    {
        var progress = WhiteBitProgress.From(pending.Progress);
        if (!Fast || progress.KeyAtFirstLook is not "" || pending.Credential.AccessTokenExpiresAt <= _time.GetUtcNow())
        {
            return new RevocationResult(RevocationStatus.NoLongerPossible, "No key this flow created can be identified or deleted at WhiteBIT.");
        }

        var info = await _keys.InfoAsync(pending.Credential.AccessToken, ct);
        if (info.Status != 200 || info.Info is not { Exists: true, ExternalId: { } externalId } || pending.ExistingAccountIds.Contains(externalId))
        {
            return new RevocationResult(info.Status == 200 ? RevocationStatus.Revoked : RevocationStatus.Unavailable,
                info.Status == 200 ? "WhiteBIT shows no key created by this flow." : "WhiteBIT could not be asked whether this flow created a key.");
        }

        var deleted = await DeleteKeyAsync(pending.Credential, externalId, ct);
        LogAbandonedKey(_logger, Descriptor.Id, deleted.Status);
        return deleted;
    }

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
            ? TokenExpired(credential)
            : await DeleteKeyAsync(credential, externalId, ct);
    }

    private async Task<RevocationResult> DeleteKeyAsync(ProviderCredential credential, string externalId, CT ct)
    {
        using var delays = Backoff.Delays(_options.LockedInitialBackoff, _options.LockedMaxBackoff, _options.LockedTotalWait).GetEnumerator();
        while (true)
        {
            var answer = await _keys.DeleteAsync(credential.AccessToken, externalId, ct);
            switch (answer.Status)
            {
                case 0:
                    return new RevocationResult(RevocationStatus.Unavailable, "WhiteBIT could not be reached to delete the API key; nothing was erased, retry the unlink.");
                case >= 200 and < 300:
                case 404:
                    // 404 (fast-api-key-integration, Error handling): "A key deleted by the system ... returns the same 404".
                    return new RevocationResult(RevocationStatus.Revoked, "WhiteBIT deleted the API key (WhiteBIT e-mails the user about it).");
                case 401 when ExpiresSoon(credential):
                    return TokenExpired(credential);
                case 401:
                    // On a token that is not about to expire: "token does not carry the apikeys.delete scope" (api-key-delete),
                    // or the partner's authorization was revoked — which revokes the key too (fast-api-key-integration, Lifecycle).
                    return new RevocationResult(RevocationStatus.NoLongerPossible,
                        "WhiteBIT refused the broker's access token for deleting the key (missing apikeys.delete scope, or the authorization was revoked); delete the key in WhiteBIT's API key settings if it still exists.");
                case 403:
                    return new RevocationResult(RevocationStatus.NoLongerPossible, "WhiteBIT says this key does not belong to the broker's client; delete it in WhiteBIT's API settings.");
                case 423 when delays.MoveNext():
                    await Task.Delay(delays.Current, _time, ct);
                    continue;
                case 408 or 423 or 429 or >= 500:
                    return new RevocationResult(RevocationStatus.Unavailable, $"WhiteBIT did not delete the API key yet (HTTP {answer.Status}); nothing was erased, retry the unlink.", answer.RetryAfter);
                default:
                    // Undocumented 4xx. The likeliest cause is documented: "disabled keys must be removed by the user from the
                    // WhiteBIT dashboard" (api-key-delete) — keys are disabled after 14 days without use. Retrying cannot help.
                    LogDeleteRefused(_logger, Descriptor.Id, answer.Status);
                    return new RevocationResult(RevocationStatus.NoLongerPossible,
                        $"WhiteBIT refused to delete the API key (HTTP {answer.Status}); a disabled key (unused for 14 days) can only be deleted by the user in WhiteBIT's dashboard: delete it in WhiteBIT's API key settings.");
            }
        }
    }

    private RevocationResult TokenExpired(ProviderCredential credential) =>
        HasLiveRefreshToken(credential)
            ? new RevocationResult(RevocationStatus.Unavailable,
                "WhiteBIT's access token has expired; the broker renews it with the refresh token before deleting the API key. Nothing was erased: retry the unlink shortly.")
            {
                RefreshFirst = true,
            }
            : new RevocationResult(RevocationStatus.NoLongerPossible,
                "WhiteBIT's access token has expired and no refresh token is left to renew it, so the broker can no longer delete the API key: delete it in WhiteBIT's API key settings. The broker's copy was erased.");

    private bool ExpiresSoon(ProviderCredential credential) => credential.AccessTokenExpiresAt <= _time.GetUtcNow() + ExpirySkew;

    private bool HasLiveRefreshToken(ProviderCredential credential) =>
        credential.RefreshToken is not null && !(credential.RefreshTokenExpiresAt <= _time.GetUtcNow());

    private PendingStep RefreshOrFail(PendingAuthorization pending) => HasLiveRefreshToken(pending.Credential)
        ? new PendingStep.RefreshNeeded(pending)
        : new PendingStep.Failed(new ProviderFailure(ProviderFailureKind.TokenRejected, "token_expired",
            "WhiteBIT's access token expired before the API key could be fetched, and no refresh token is held; the user must connect again."));

    /// <summary>423 "Temporary lock, retry shortly", sent without Retry-After: back off from 5 s, doubling, capped at 60 s.</summary>
    private PendingStep WaitOutLock(PendingAuthorization pending, WhiteBitProgress progress, DateTimeOffset now)
    {
        var lockedUntil = progress.LockedUntil ?? now + _options.PendingLockedTotalWait;
        var delay = progress.NextLockDelay ?? _options.LockedInitialBackoff;
        if (now + delay > lockedUntil)
        {
            return new PendingStep.Failed(Locked());
        }

        var doubled = delay * 2 > _options.LockedMaxBackoff ? _options.LockedMaxBackoff : delay * 2;
        var next = progress with { LockedUntil = lockedUntil, NextLockDelay = doubled };
        return new PendingStep.Waiting(pending with { Progress = next.ToDictionary(), NextAttemptAt = now + delay }, PendingWait.Locked);
    }

    private static ProviderGrant Grant(PendingAuthorization pending, string externalId, string apiSecret)
    {
        var vaulted = pending.Credential with
        {
            ApiKey = pending.Credential.ApiKey ?? externalId,
            ApiSecret = apiSecret,
            Metadata = new Dictionary<string, string> { [WhiteBitDefaults.ExternalIdMetadata] = externalId },
        };
        return new ProviderGrant(externalId, "API key " + externalId[..Math.Min(8, externalId.Length)], vaulted, pending.Scopes);
    }

    private async Task<ProviderResult<ProviderGrant>> GiveUpAsync(PendingAuthorization pending, ProviderFailure failure, CT ct)
    {
        if (failure.Kind is not (ProviderFailureKind.RestartRequired or ProviderFailureKind.AccountNotEligible))
        {
            await AbandonAsync(pending, ct);
        }

        return failure;
    }

    /// <summary>What a refresh returned, over what was held (a refresh token that did not come back stays valid).</summary>
    private static ProviderCredential Merge(ProviderCredential held, ProviderCredential refreshed) => refreshed with
    {
        RefreshToken = refreshed.RefreshToken ?? held.RefreshToken,
        RefreshTokenExpiresAt = refreshed.RefreshToken is null ? held.RefreshTokenExpiresAt : refreshed.RefreshTokenExpiresAt,
        ApiKey = held.ApiKey,
        ApiSecret = held.ApiSecret,
        Metadata = held.Metadata,
    };

    private static ProviderFailure Locked() => new(ProviderFailureKind.Unavailable, "423",
        "WhiteBIT kept the API key locked (423) longer than the broker waits; connect again shortly.");

    private static ProviderFailure NoKeyCreated() => new(ProviderFailureKind.Rejected, "no_key_created",
        "WhiteBIT created no API key in time after consent (its consent screen refuses when the account already has an active or expired key for this platform).");

    private static ProviderFailure KeyAlreadyLinked() => new(ProviderFailureKind.AccountNotEligible, "key_already_exists",
        "The WhiteBIT account already has this platform's API key, and its secret was handed out before — most likely to an existing link (WhiteBIT allows one active key per user and platform). " +
        "Unlink the existing WhiteBIT link (that deletes the key), or delete the key in WhiteBIT's API settings, then connect again.");

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhiteBIT ({ProviderId}) answered 409 on the key secret of a key this flow created; deleting it per the documented recovery: {DeleteOutcome}")]
    private static partial void LogSecretAlreadyRetrieved(ILogger logger, string providerId, RevocationStatus deleteOutcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhiteBIT ({ProviderId}) flow abandoned; the key it created was deleted: {DeleteOutcome}")]
    private static partial void LogAbandonedKey(ILogger logger, string providerId, RevocationStatus deleteOutcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhiteBIT ({ProviderId}) refused to delete an API key with HTTP {Status}; the user must delete it in WhiteBIT's dashboard")]
    private static partial void LogDeleteRefused(ILogger logger, string providerId, int status);
}
