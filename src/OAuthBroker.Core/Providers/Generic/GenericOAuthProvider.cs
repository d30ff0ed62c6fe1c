using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.Generic;

/// <summary>
/// Any RFC 6749 / OpenID Connect provider from configuration: authorization-code flow with PKCE S256, client
/// authentication by <c>client_secret_basic</c> or <c>client_secret_post</c>, the RFC 9207 <c>iss</c> check, account
/// id from the ID token's <c>sub</c> (or a configured claim) or a userinfo field, and RFC 7009 revocation.
/// </summary>
public sealed partial class GenericOAuthProvider : OAuthProviderBase
{
    private static readonly HashSet<string> ReservedParameters = new(StringComparer.Ordinal)
    {
        "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce",
    };

    private readonly GenericOAuthOptions _options;
    private readonly ProviderHttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger<GenericOAuthProvider> _logger;
    private readonly MetadataSource _metadata;

    public GenericOAuthProvider(string id, GenericOAuthOptions options, ProviderHttpClient http, TimeProvider time, ILogger<GenericOAuthProvider> logger)
    {
        _options = options;
        _http = http;
        _time = time;
        _logger = logger;
        Descriptor = new ProviderDescriptor(id, options.DisplayName ?? id,
            new ProviderCapabilities(Pkce: options.Pkce, RefreshTokens: true, Revocation: options.RevocationEndpoint is not null || options.Discovers, ApiKeys: false))
        {
            RefreshMargin = options.RefreshMargin,
        };
        _metadata = new MetadataSource(id, Descriptor.DisplayName, options, http, time, logger);
    }

    public override ProviderDescriptor Descriptor { get; }

    private bool WantsIdToken => _options.RequestsOpenId;

    public override async Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct)
    {
        var metadata = await _metadata.GetAsync(ct);
        if (!metadata.Succeeded)
        {
            return metadata.Failure;
        }

        var parameters = new List<(string, string)>
        {
            ("response_type", "code"),
            ("client_id", _options.ClientId!),
            ("redirect_uri", request.RedirectUri.AbsoluteUri),
        };
        if (_options.Scopes.Count > 0)
        {
            parameters.Add(("scope", string.Join(_options.ScopeSeparator, _options.Scopes)));
        }

        parameters.Add(("state", request.State));
        if (request.CodeChallenge is not null)
        {
            parameters.Add(("code_challenge", request.CodeChallenge));
            parameters.Add(("code_challenge_method", "S256"));
        }

        if (WantsIdToken)
        {
            parameters.Add(("nonce", request.Nonce));
        }

        parameters.AddRange(_options.AuthorizationParameters.Where(p => !ReservedParameters.Contains(p.Key)).Select(p => (p.Key, p.Value)));
        return QueryString.Append(metadata.Value.AuthorizationEndpoint, [.. parameters]);
    }

    /// <summary>RFC 9207: a sent <c>iss</c> must be this provider's issuer; a required one must be sent.</summary>
    public override async Task<ProviderFailure?> CheckAuthorizationResponseAsync(AuthorizationResponse response, CT ct)
    {
        var metadata = await _metadata.GetAsync(ct);
        if (!metadata.Succeeded)
        {
            return metadata.Failure;
        }

        var expected = metadata.Value.Issuer ?? _options.ExpectedIssuer;
        if (response.Issuer is not null)
        {
            return expected is not null && !string.Equals(response.Issuer, expected, StringComparison.Ordinal)
                ? new ProviderFailure(ProviderFailureKind.IssuerMismatch, "iss_mismatch",
                    "The authorization response names another issuer than the one this flow was sent to (RFC 9207 mix-up defence).")
                : null;
        }

        return _options.RequireIssParameter ?? metadata.Value.IssParameterSupported
            ? new ProviderFailure(ProviderFailureKind.IssuerMismatch, "iss_missing", "The provider advertises the iss parameter, but the authorization response has none.")
            : null;
    }

    public override async Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct)
    {
        var metadata = await _metadata.GetAsync(ct);
        if (!metadata.Succeeded)
        {
            return metadata.Failure;
        }

        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "authorization_code"),
            new("code", completion.Code),
            new("redirect_uri", completion.RedirectUri.AbsoluteUri),
        };
        if (completion.CodeVerifier is not null)
        {
            form.Add(new("code_verifier", completion.CodeVerifier));
        }

        var sent = await PostAsync(metadata.Value.TokenEndpoint, "token", form, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        ProviderCredential? credential;
        IReadOnlyList<string> scopes;
        string? idToken;
        using (var response = sent.Value)
        {
            if (response.Json is { } errorBody && OAuth2Responses.ReadError(errorBody.RootElement, Descriptor.DisplayName) is { } protocolError)
            {
                return protocolError;
            }

            if (response.TransportFailure("token") is { } transport)
            {
                return transport;
            }

            var body = response.Json!.RootElement;
            credential = response.IsSuccessStatus ? OAuth2Responses.ReadCredential(body, _time.GetUtcNow()) : null;
            if (credential is null)
            {
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}", $"{Descriptor.DisplayName}'s token response has no access_token.");
            }

            scopes = OAuth2Responses.Scopes(body, _options.Scopes, _options.ScopeSeparator.ToCharArray().Append(' ').Distinct().ToArray());
            // Note: an ID token is only meaningful when openid was requested (OpenID Connect Core §3.1.2.1); without it no
            // nonce binds the token to this flow, so an unsolicited one is ignored rather than trusted.
            idToken = WantsIdToken ? body.StringProperty("id_token") : null;
        }

        var identity = await IdentifyAsync(metadata.Value, credential.AccessToken, idToken, completion.Nonce, ct);
        return identity.Succeeded
            ? new ProviderGrant(identity.Value.AccountId, identity.Value.DisplayName, credential, scopes)
            : identity.Failure;
    }

    /// <summary>RFC 6749 §6.</summary>
    public override async Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct)
    {
        if (current.RefreshToken is null)
        {
            return await base.RefreshAsync(current, ct);
        }

        var metadata = await _metadata.GetAsync(ct);
        if (!metadata.Succeeded)
        {
            return metadata.Failure;
        }

        var sent = await PostAsync(metadata.Value.TokenEndpoint, "refresh", [new("grant_type", "refresh_token"), new("refresh_token", current.RefreshToken)], ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        using var response = sent.Value;
        if (response.Json is { } errorBody && OAuth2Responses.ReadError(errorBody.RootElement, Descriptor.DisplayName) is { } protocolError)
        {
            return protocolError;
        }

        if (response.TransportFailure("refresh") is { } transport)
        {
            return transport;
        }

        return response.IsSuccessStatus && OAuth2Responses.ReadCredential(response.Json!.RootElement, _time.GetUtcNow()) is { } credential
            ? credential
            : new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}", $"{Descriptor.DisplayName}'s refresh response has no access_token.");
    }

    /// <summary>
    /// RFC 7009: the refresh token first (ending the grant, §2.1), then the access token. Only a 200 counts as revoked
    /// (§2.2); see <see cref="Rfc7009Answers"/> for every other answer.
    /// </summary>
    public override async Task<RevocationResult> RevokeAsync(ProviderCredential credential, CT ct)
    {
        var metadata = await _metadata.GetAsync(ct);
        if (!metadata.Succeeded)
        {
            return new RevocationResult(RevocationStatus.Unavailable, $"{Descriptor.DisplayName}'s metadata could not be read to find its revocation endpoint.");
        }

        if (metadata.Value.RevocationEndpoint is not { } endpoint)
        {
            return RevocationResult.NotSupported(Descriptor.DisplayName);
        }

        var tokens = credential.RefreshToken is null
            ? [(credential.AccessToken, "access_token")]
            : new[] { (credential.RefreshToken, "refresh_token"), (credential.AccessToken, "access_token") };
        var accessTokenLives = false;
        foreach (var (token, hint) in tokens)
        {
            var sent = await PostAsync(endpoint, "revoke", [new("token", token), new("token_type_hint", hint)], ct);
            if (!sent.Succeeded)
            {
                return new RevocationResult(RevocationStatus.Unavailable, $"{Descriptor.DisplayName} could not be reached to revoke; nothing was erased, retry the unlink later.", sent.Failure.RetryAfter);
            }

            using var response = sent.Value;
            var (outcome, result) = Rfc7009Answers.Interpret(response, hint, Descriptor.DisplayName);
            if (outcome == Rfc7009Answers.Outcome.Stop)
            {
                LogRevocationNotConfirmed(_logger, Descriptor.Id, (int)response.Status, result!.Status);
                return result;
            }

            accessTokenLives |= outcome == Rfc7009Answers.Outcome.AccessTokenNotRevocable;
        }

        if (accessTokenLives && credential.RefreshToken is null)
        {
            // Nothing could be revoked at all: the only token lives until it expires. Erasing our copy is still right.
            return new RevocationResult(RevocationStatus.NoLongerPossible,
                $"{Descriptor.DisplayName} does not revoke access tokens (RFC 7009 unsupported_token_type); the access token stays valid until it expires. " +
                "The user can revoke the application in their account settings at the provider.");
        }

        return new RevocationResult(RevocationStatus.Revoked, accessTokenLives
            ? $"{Descriptor.DisplayName} revoked the grant (RFC 7009); it does not revoke access tokens, so the last one stays valid until it expires."
            : $"{Descriptor.DisplayName} confirmed the revocation (RFC 7009).");
    }

    private async Task<ProviderResult<(string AccountId, string? DisplayName)>> IdentifyAsync(ServerMetadata metadata, string accessToken, string? idToken, string nonce, CT ct)
    {
        if (idToken is null && _options.AccountIdSource == AccountIdSource.IdToken)
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_id_token", $"{Descriptor.DisplayName} issued no ID token although openid was requested.");
        }

        using var claims = idToken is null ? null : JwtPayload.TryRead(idToken);
        if (idToken is not null)
        {
            var problem = claims is null
                ? "unreadable"
                : IdTokenCheck.Problem(claims.RootElement, metadata.Issuer ?? _options.ExpectedIssuer, _options.ClientId!, nonce, _time.GetUtcNow());
            if (problem is not null)
            {
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, "invalid_id_token",
                    $"{Descriptor.DisplayName}'s ID token is not valid for this flow ({problem}).");
            }
        }

        var fromIdToken = _options.AccountIdSource == AccountIdSource.IdToken || (_options.AccountIdSource == AccountIdSource.Auto && claims is not null);
        if (fromIdToken)
        {
            // The check above guarantees an ID token here, and an unreadable one was refused.
            var identity = FromDocument(claims!.RootElement, "ID token");
            if (!identity.Succeeded || identity.Value.DisplayName is not null || metadata.UserinfoEndpoint is null)
            {
                return identity;
            }

            // OpenID Connect Core §5.4: "The Claims requested by the profile, email, address, and phone scope values are
            // returned from the UserInfo Endpoint ... when a response_type value is used that results in an Access Token
            // being issued" — so with the code flow the ID token need not carry a name at all.
            return (identity.Value.AccountId, await DisplayNameFromUserinfoAsync(metadata, accessToken, identity.Value.AccountId, claims.RootElement, ct));
        }

        var userinfo = await UserinfoAsync(metadata, accessToken, ct);
        if (!userinfo.Succeeded)
        {
            return userinfo.Failure;
        }

        using var document = userinfo.Value;
        // OpenID Connect Core §5.3.2: userinfo's sub must be the ID token's.
        if (claims is not null && document.RootElement.StringProperty("sub") is { } sub && sub != claims.RootElement.StringProperty("sub"))
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "sub_mismatch", $"{Descriptor.DisplayName}'s userinfo names another subject than its ID token.");
        }

        return FromDocument(document.RootElement, "userinfo");
    }

    /// <summary>
    /// Only a label: any failure leaves the name empty rather than failing the link. Userinfo naming another subject
    /// than the ID token is not used at all (OpenID Connect Core §5.3.2: its values "MUST NOT be used").
    /// </summary>
    private async Task<string?> DisplayNameFromUserinfoAsync(ServerMetadata metadata, string accessToken, string accountId, JsonElement idTokenClaims, CT ct)
    {
        var userinfo = await UserinfoAsync(metadata, accessToken, ct);
        if (!userinfo.Succeeded)
        {
            LogUserinfoNameSkipped(_logger, Descriptor.Id, userinfo.Failure.ProviderCode);
            return null;
        }

        using var document = userinfo.Value;
        if (document.RootElement.StringProperty("sub") != idTokenClaims.StringProperty("sub"))
        {
            LogUserinfoNameSkipped(_logger, Descriptor.Id, "sub_mismatch");
            return null;
        }

        var named = FromDocument(document.RootElement, "userinfo");
        return named.Succeeded && named.Value.AccountId == accountId ? named.Value.DisplayName : null;
    }

    private ProviderResult<(string AccountId, string? DisplayName)> FromDocument(JsonElement document, string source)
    {
        var accountId = document.PathValue(_options.AccountIdClaim);
        if (string.IsNullOrEmpty(accountId))
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_account_id", $"{Descriptor.DisplayName}'s {source} has no '{_options.AccountIdClaim}'.");
        }

        var name = document.PathValue(_options.DisplayNameClaim) ?? document.StringProperty("preferred_username") ?? document.StringProperty("email");
        return (accountId, name);
    }

    private async Task<ProviderResult<JsonDocument>> UserinfoAsync(ServerMetadata metadata, string accessToken, CT ct)
    {
        if (metadata.UserinfoEndpoint is not { } endpoint)
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_userinfo", $"{Descriptor.DisplayName} has no userinfo endpoint to identify the account with.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
        request.Headers.Authorization = new("Bearer", accessToken);
        request.Headers.Accept.ParseAdd("application/json");
        var sent = await _http.SendAsync(Descriptor.Id, "userinfo", request, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        var response = sent.Value;
        if (response.TransportFailure("userinfo") is { } transport || !response.IsSuccessStatus)
        {
            var failure = response.TransportFailure("userinfo") ?? new ProviderFailure(ProviderFailureKind.TokenRejected, $"http_{(int)response.Status}", $"{Descriptor.DisplayName} refused the new access token at userinfo.");
            response.Dispose();
            return failure;
        }

        return response.Json!;
    }

    private async Task<ProviderResult<ProviderResponse>> PostAsync(Uri endpoint, string operation, List<KeyValuePair<string, string>> form, CT ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        ClientAuthentication.Apply(request, form, _options.ClientAuthentication, _options.ClientId!, _options.ClientSecret!);
        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.ParseAdd("application/json");
        return await _http.SendAsync(Descriptor.Id, operation, request, ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider {ProviderId} did not confirm a revocation (HTTP {Status}); reported as {Outcome}, nothing erased")]
    private static partial void LogRevocationNotConfirmed(ILogger logger, string providerId, int status, RevocationStatus outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider {ProviderId}: no display name from userinfo ({Reason})")]
    private static partial void LogUserinfoNameSkipped(ILogger logger, string providerId, string reason);
}
