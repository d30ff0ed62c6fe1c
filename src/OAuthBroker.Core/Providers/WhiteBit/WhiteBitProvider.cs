using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// WhiteBIT (provider-contracts.md §2). Fast API Key flow: authorize with camelCase <c>clientId</c> and PKCE S256,
/// exchange without <c>grant_type</c> (answer wrapped in <c>data</c>), then wait for the user's new API key
/// (<c>/oauth2/api-key/info</c>, bounded), fetch its secret once (409: delete the key, start over), back off on 423,
/// and vault key and secret. Unlink deletes the key while the 4-hour access token lasts. The classic flow (with a
/// rotating refresh token) is a configuration option for partners still on it.
/// </summary>
public sealed partial class WhiteBitProvider(
    string id,
    WhiteBitOptions options,
    ProviderHttpClient http,
    TimeProvider time,
    ILogger<WhiteBitProvider> logger) : OAuthProviderBase
{
    private bool Fast => options.Flow == WhiteBitFlow.FastApiKey;

    public override ProviderDescriptor Descriptor { get; } = new(
        id,
        options.DisplayName ?? WhiteBitDefaults.DisplayName,
        options.Flow == WhiteBitFlow.FastApiKey
            ? new ProviderCapabilities(Pkce: true, RefreshTokens: false, Revocation: true, ApiKeys: true)
            : new ProviderCapabilities(Pkce: false, RefreshTokens: true, Revocation: false, ApiKeys: false));

    public override Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct)
    {
        // Scopes cannot be requested: they are fixed when the client is registered (W-A).
        var parameters = new List<(string, string)> { ("clientId", options.ClientId!), ("state", request.State) };
        if (Fast)
        {
            parameters.Add(("redirect_uri", request.RedirectUri.AbsoluteUri));
            parameters.Add(("code_challenge", request.CodeChallenge!));
            parameters.Add(("code_challenge_method", "S256"));
        }

        var url = Endpoint.Combine(options.ResolvedServer, WhiteBitDefaults.AuthorizePath);
        return Task.FromResult<ProviderResult<Uri>>(new Uri(url.AbsoluteUri + "?" + QueryString.Build([.. parameters])));
    }

    public override async Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("client_id", options.ClientId!),
            new("client_secret", options.ClientSecret!),
            new("code", completion.Code),
        };
        if (Fast && completion.CodeVerifier is not null)
        {
            form.Add(new("code_verifier", completion.CodeVerifier));
        }

        var tokens = await PostTokenAsync(WhiteBitDefaults.TokenPath, "token", form, ct);
        if (!tokens.Succeeded)
        {
            return tokens.Failure;
        }

        var (credential, scopes) = tokens.Value;
        if (!Fast)
        {
            // Note: the classic flow documents no endpoint that names the account; each authorization is its own link.
            var accountId = "classic-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            return new ProviderGrant(accountId, null, credential, scopes);
        }

        var key = await WaitForApiKeyAsync(credential.AccessToken, ct);
        if (!key.Succeeded)
        {
            return key.Failure;
        }

        var externalId = key.Value;
        var secret = await FetchSecretOnceAsync(credential.AccessToken, externalId, ct);
        if (!secret.Succeeded)
        {
            return secret.Failure;
        }

        // Both readings of where the public key comes from (UNCONFIRMED): delivered on the callback (older guide),
        // else the key's externalId is the public key sent as X-TXC-APIKEY (newer guide).
        var publicKey = completion.Response.Extra.TryGetValue(options.ApiKeyCallbackParameter, out var delivered) && !string.IsNullOrWhiteSpace(delivered)
            ? delivered
            : externalId;
        var vaulted = credential with
        {
            ApiKey = publicKey,
            ApiSecret = secret.Value,
            Metadata = new Dictionary<string, string> { [WhiteBitDefaults.ExternalIdMetadata] = externalId },
        };
        return new ProviderGrant(externalId, "API key " + externalId[..Math.Min(8, externalId.Length)], vaulted, scopes);
    }

    /// <summary>W-R (classic flow): the refresh token goes in the field <c>token</c>; every refresh rotates it.</summary>
    public override async Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct)
    {
        if (Fast || current.RefreshToken is null)
        {
            return await base.RefreshAsync(current, ct);
        }

        var refreshed = await PostTokenAsync(WhiteBitDefaults.RefreshPath, "refresh",
            [new("client_id", options.ClientId!), new("client_secret", options.ClientSecret!), new("token", current.RefreshToken)], ct);
        return refreshed.Succeeded ? refreshed.Value.Credential : refreshed.Failure;
    }

    /// <summary>Deletes the user's API key (W-K3) while the access token is valid; says so clearly when it no longer is.</summary>
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

        if (credential.AccessTokenExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return NoLongerPossible();
        }

        using var delays = Backoff.Delays(options.LockedInitialBackoff, options.LockedMaxBackoff, options.LockedTotalWait).GetEnumerator();
        while (true)
        {
            using var request = Bearer(HttpMethod.Delete, WhiteBitDefaults.ApiKeyPath(externalId), credential.AccessToken);
            var sent = await http.SendAsync(Descriptor.Id, "api-key delete", request, ct);
            if (!sent.Succeeded)
            {
                return new RevocationResult(RevocationStatus.Unavailable, "WhiteBIT could not be reached to delete the API key.");
            }

            using var response = sent.Value;
            switch ((int)response.Status)
            {
                case >= 200 and < 300:
                case 404:
                    return new RevocationResult(RevocationStatus.Revoked, "WhiteBIT deleted the API key (WhiteBIT e-mails the user about it).");
                case 401:
                    return NoLongerPossible();
                case 403:
                    return new RevocationResult(RevocationStatus.NoLongerPossible, "WhiteBIT says this key does not belong to the broker's client; delete it in WhiteBIT's API settings.");
                case 423 when delays.MoveNext():
                    await Task.Delay(delays.Current, time, ct);
                    continue;
                default:
                    return new RevocationResult(RevocationStatus.Unavailable, $"WhiteBIT did not delete the API key (HTTP {(int)response.Status}); retry the unlink.", response.RetryAfter);
            }
        }
    }

    private static RevocationResult NoLongerPossible() => new(RevocationStatus.NoLongerPossible,
        "WhiteBIT's access token (valid 4 hours) has expired, so the broker can no longer delete the API key: delete it in WhiteBIT's API key settings. The broker's copy was erased.");

    /// <summary>W-K1: polls until the key exists and is enabled, within <see cref="WhiteBitOptions.ApiKeyPollTimeout"/>.</summary>
    private async Task<ProviderResult<string>> WaitForApiKeyAsync(string accessToken, CT ct)
    {
        var deadline = time.GetUtcNow() + options.ApiKeyPollTimeout;
        using var lockedDelays = Backoff.Delays(options.LockedInitialBackoff, options.LockedMaxBackoff, options.LockedTotalWait).GetEnumerator();
        while (true)
        {
            using var request = Bearer(HttpMethod.Get, WhiteBitDefaults.ApiKeyInfoPath, accessToken);
            var sent = await http.SendAsync(Descriptor.Id, "api-key info", request, ct);
            if (!sent.Succeeded)
            {
                return sent.Failure;
            }

            TimeSpan wait;
            using (var response = sent.Value)
            {
                var status = (int)response.Status;
                if (status == 423)
                {
                    if (!lockedDelays.MoveNext())
                    {
                        return Locked();
                    }

                    wait = lockedDelays.Current;
                }
                else if (ApiKeyFailure(response, "api-key info") is { } failure)
                {
                    return failure;
                }
                else
                {
                    var data = response.Json!.RootElement.ObjectProperty("data");
                    bool exists = data?.TryGetProperty("exists", out var e) == true && e.ValueKind == JsonValueKind.True;
                    bool enabled = data?.TryGetProperty("isEnabled", out var en) == true && en.ValueKind == JsonValueKind.True;
                    var externalId = data?.StringProperty("externalId");
                    if (exists && enabled && !string.IsNullOrEmpty(externalId))
                    {
                        return externalId;
                    }

                    if (exists && !enabled)
                    {
                        return new ProviderFailure(ProviderFailureKind.AccountNotEligible, "key_disabled",
                            "The WhiteBIT account has a disabled API key for this platform; the user must delete it in WhiteBIT's dashboard, then connect again.");
                    }

                    if (time.GetUtcNow() + options.ApiKeyPollInterval > deadline)
                    {
                        return new ProviderFailure(ProviderFailureKind.Rejected, "no_key_created",
                            "WhiteBIT created no API key after consent (its consent screen refuses when the account already has an active or expired key for this platform).");
                    }

                    wait = options.ApiKeyPollInterval;
                }
            }

            await Task.Delay(wait, time, ct);
        }
    }

    /// <summary>W-K2: the secret can be read exactly once. 409 means it was already read: delete the key and start over.</summary>
    private async Task<ProviderResult<string>> FetchSecretOnceAsync(string accessToken, string externalId, CT ct)
    {
        using var lockedDelays = Backoff.Delays(options.LockedInitialBackoff, options.LockedMaxBackoff, options.LockedTotalWait).GetEnumerator();
        while (true)
        {
            using var request = Bearer(HttpMethod.Get, WhiteBitDefaults.ApiKeySecretPath(externalId), accessToken);
            var sent = await http.SendAsync(Descriptor.Id, "api-key secret", request, ct);
            if (!sent.Succeeded)
            {
                return sent.Failure;
            }

            using var response = sent.Value;
            switch ((int)response.Status)
            {
                case 423 when lockedDelays.MoveNext():
                    await Task.Delay(lockedDelays.Current, time, ct);
                    continue;
                case 423:
                    return Locked();
                case 409:
                    // Documented recovery: delete the key and restart the flow (a secret nobody holds is useless).
                    var deleted = await RevokeAsync(new ProviderCredential
                    {
                        AccessToken = accessToken,
                        Metadata = new Dictionary<string, string> { [WhiteBitDefaults.ExternalIdMetadata] = externalId },
                    }, ct);
                    LogSecretAlreadyRetrieved(logger, Descriptor.Id, deleted.Status);
                    return new ProviderFailure(ProviderFailureKind.RestartRequired, "409",
                        "WhiteBIT says the key's secret was already retrieved; the key was deleted as WhiteBIT documents, and the user must connect again.");
            }

            if (ApiKeyFailure(response, "api-key secret") is { } failure)
            {
                return failure;
            }

            var secret = response.Json!.RootElement.ObjectProperty("data")?.StringProperty("apiSecret");
            return string.IsNullOrEmpty(secret)
                ? new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_secret", "WhiteBIT's secret response has no data.apiSecret.")
                : secret;
        }
    }

    private static ProviderFailure Locked() => new(ProviderFailureKind.Unavailable, "423",
        "WhiteBIT kept the API key locked (423) longer than the broker waits within one request; connect again shortly.");

    private static ProviderFailure? ApiKeyFailure(ProviderResponse response, string operation) => (int)response.Status switch
    {
        >= 200 and < 300 when response.Json is not null => null,
        401 => new ProviderFailure(ProviderFailureKind.TokenRejected, "401", "WhiteBIT refused the access token on the API-key endpoints (missing apikeys.* scope or expired token)."),
        403 => new ProviderFailure(ProviderFailureKind.Rejected, "403", "WhiteBIT says the key belongs to another client or was not issued to a partner."),
        404 => new ProviderFailure(ProviderFailureKind.Rejected, "404", "WhiteBIT says the key was not found."),
        _ => response.TransportFailure(operation) ?? new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}", $"WhiteBIT answered the {operation} request unexpectedly."),
    };

    private async Task<ProviderResult<(ProviderCredential Credential, IReadOnlyList<string> Scopes)>> PostTokenAsync(string path, string operation, List<KeyValuePair<string, string>> form, CT ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint.Combine(options.ResolvedServer, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.ParseAdd("application/json");
        var sent = await http.SendAsync(Descriptor.Id, operation, request, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        using var response = sent.Value;
        if (!response.IsSuccessStatus)
        {
            return WhiteBitErrors.TokenEndpoint((int)response.Status, response.Json?.RootElement);
        }

        if (response.TransportFailure(operation) is { } transport)
        {
            return transport;
        }

        // Responses are wrapped in "data" rather than RFC 6749's flat form.
        var data = response.Json!.RootElement.ObjectProperty("data");
        var credential = data is { } body ? OAuth2Responses.ReadCredential(body, time.GetUtcNow()) : null;
        if (credential is null)
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_access_token", "WhiteBIT's token response has no data.access_token.");
        }

        // Scopes come back comma-separated.
        return (credential, OAuth2Responses.Scopes(data!.Value, [], ','));
    }

    private HttpRequestMessage Bearer(HttpMethod method, string path, string accessToken)
    {
        var request = new HttpRequestMessage(method, Endpoint.Combine(options.ResolvedApiKeyServer, path));
        request.Headers.Authorization = new("Bearer", accessToken);
        request.Headers.Accept.ParseAdd("application/json");
        return request;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhiteBIT ({ProviderId}) answered 409 on the key secret; deleting the key per the documented recovery: {DeleteOutcome}")]
    private static partial void LogSecretAlreadyRetrieved(ILogger logger, string providerId, RevocationStatus deleteOutcome);
}
