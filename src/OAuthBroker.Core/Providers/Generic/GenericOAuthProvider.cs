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
public sealed partial class GenericOAuthProvider(
    string id,
    GenericOAuthOptions options,
    ProviderHttpClient http,
    TimeProvider time,
    ILogger<GenericOAuthProvider> logger) : OAuthProviderBase
{
    /// <summary>Clock skew allowed on ID token expiry.</summary>
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(2);
    private static readonly HashSet<string> ReservedParameters = new(StringComparer.Ordinal)
    {
        "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce",
    };

    private readonly Lock _gate = new();
    private (ServerMetadata Metadata, DateTimeOffset ReadAt)? _metadata;

    public override ProviderDescriptor Descriptor { get; } = new(
        id,
        options.DisplayName ?? id,
        new ProviderCapabilities(Pkce: options.Pkce, RefreshTokens: true, Revocation: options.RevocationEndpoint is not null || options.Discovers, ApiKeys: false));

    private bool WantsIdToken => options.Scopes.Contains("openid", StringComparer.Ordinal);

    public override async Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct)
    {
        var metadata = await MetadataAsync(ct);
        if (!metadata.Succeeded)
        {
            return metadata.Failure;
        }

        var parameters = new List<(string, string)>
        {
            ("response_type", "code"),
            ("client_id", options.ClientId!),
            ("redirect_uri", request.RedirectUri.AbsoluteUri),
        };
        if (options.Scopes.Count > 0)
        {
            parameters.Add(("scope", string.Join(options.ScopeSeparator, options.Scopes)));
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

        parameters.AddRange(options.AuthorizationParameters.Where(p => !ReservedParameters.Contains(p.Key)).Select(p => (p.Key, p.Value)));
        return QueryString.Append(metadata.Value.AuthorizationEndpoint, [.. parameters]);
    }

    /// <summary>RFC 9207: a sent <c>iss</c> must be this provider's issuer; a required one must be sent.</summary>
    public override async Task<ProviderFailure?> CheckAuthorizationResponseAsync(AuthorizationResponse response, CT ct)
    {
        var metadata = await MetadataAsync(ct);
        if (!metadata.Succeeded)
        {
            return metadata.Failure;
        }

        var expected = metadata.Value.Issuer ?? options.Issuer;
        if (response.Issuer is not null)
        {
            return expected is not null && !string.Equals(response.Issuer, expected, StringComparison.Ordinal)
                ? new ProviderFailure(ProviderFailureKind.IssuerMismatch, "iss_mismatch",
                    "The authorization response names another issuer than the one this flow was sent to (RFC 9207 mix-up defence).")
                : null;
        }

        return options.RequireIssParameter ?? metadata.Value.IssParameterSupported
            ? new ProviderFailure(ProviderFailureKind.IssuerMismatch, "iss_missing", "The provider advertises the iss parameter, but the authorization response has none.")
            : null;
    }

    public override async Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct)
    {
        var metadata = await MetadataAsync(ct);
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
            credential = response.IsSuccessStatus ? OAuth2Responses.ReadCredential(body, time.GetUtcNow()) : null;
            if (credential is null)
            {
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}", $"{Descriptor.DisplayName}'s token response has no access_token.");
            }

            scopes = OAuth2Responses.Scopes(body, options.Scopes, options.ScopeSeparator.ToCharArray().Append(' ').Distinct().ToArray());
            idToken = body.StringProperty("id_token");
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

        var metadata = await MetadataAsync(ct);
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

        return response.IsSuccessStatus && OAuth2Responses.ReadCredential(response.Json!.RootElement, time.GetUtcNow()) is { } credential
            ? credential
            : new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}", $"{Descriptor.DisplayName}'s refresh response has no access_token.");
    }

    /// <summary>RFC 7009: the refresh token first (ending the grant), then the access token.</summary>
    public override async Task<RevocationResult> RevokeAsync(ProviderCredential credential, CT ct)
    {
        var metadata = await MetadataAsync(ct);
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
        foreach (var (token, hint) in tokens)
        {
            var sent = await PostAsync(endpoint, "revoke", [new("token", token), new("token_type_hint", hint)], ct);
            if (!sent.Succeeded)
            {
                return new RevocationResult(RevocationStatus.Unavailable, $"{Descriptor.DisplayName} could not be reached to revoke.", sent.Failure.RetryAfter);
            }

            using var response = sent.Value;
            var status = (int)response.Status;
            // RFC 7009 §2.2: 200 whether or not the token was valid. §2.2.1: 503 means "try later", the token still exists.
            if (status is 429 or >= 500 || status == 401)
            {
                return new RevocationResult(RevocationStatus.Unavailable, $"{Descriptor.DisplayName} did not revoke (HTTP {status}).", response.RetryAfter);
            }

            if (status != 200 && OAuth2Responses.ReadError(response.Json?.RootElement ?? default, Descriptor.DisplayName)?.ProviderCode != "unsupported_token_type")
            {
                LogRevocationAnswer(logger, Descriptor.Id, status);
            }
        }

        return new RevocationResult(RevocationStatus.Revoked, $"{Descriptor.DisplayName} accepted the revocation (RFC 7009).");
    }

    private async Task<ProviderResult<(string AccountId, string? DisplayName)>> IdentifyAsync(ServerMetadata metadata, string accessToken, string? idToken, string nonce, CT ct)
    {
        JsonDocument? claims = null;
        try
        {
            if (idToken is not null)
            {
                claims = JwtPayload.TryRead(idToken);
                var problem = claims is null ? "unreadable" : ValidateIdToken(claims.RootElement, metadata, nonce);
                if (problem is not null)
                {
                    return new ProviderFailure(ProviderFailureKind.InvalidResponse, "invalid_id_token",
                        $"{Descriptor.DisplayName}'s ID token is not valid for this flow ({problem}).");
                }
            }
            else if (WantsIdToken && options.AccountIdSource == AccountIdSource.IdToken)
            {
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_id_token", $"{Descriptor.DisplayName} issued no ID token although openid was requested.");
            }

            var useUserinfo = options.AccountIdSource == AccountIdSource.Userinfo || (options.AccountIdSource == AccountIdSource.Auto && claims is null);
            if (!useUserinfo)
            {
                return FromDocument(claims!.RootElement, "ID token");
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
        finally
        {
            claims?.Dispose();
        }
    }

    private ProviderResult<(string AccountId, string? DisplayName)> FromDocument(JsonElement document, string source)
    {
        var accountId = document.PathValue(options.AccountIdClaim);
        if (string.IsNullOrEmpty(accountId))
        {
            return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_account_id", $"{Descriptor.DisplayName}'s {source} has no '{options.AccountIdClaim}'.");
        }

        var name = document.PathValue(options.DisplayNameClaim) ?? document.StringProperty("preferred_username") ?? document.StringProperty("email");
        return (accountId, name);
    }

    /// <summary>
    /// OpenID Connect Core §3.1.3.7: iss, aud, exp and nonce are checked. The signature is not: the token came
    /// straight from the token endpoint over TLS, which item 6 of that section accepts in place of signature checks.
    /// </summary>
    private string? ValidateIdToken(JsonElement claims, ServerMetadata metadata, string nonce)
    {
        var issuer = metadata.Issuer ?? options.Issuer;
        if (issuer is not null && claims.StringProperty("iss") != issuer)
        {
            return "iss";
        }

        var audiences = claims.TryGetProperty("aud", out var aud) && aud.ValueKind == JsonValueKind.Array
            ? aud.EnumerateArray().Select(a => a.GetString()).ToArray()
            : [claims.StringProperty("aud")];
        if (!audiences.Contains(options.ClientId))
        {
            return "aud";
        }

        if (claims.IntegerProperty("exp") is not { } exp || DateTimeOffset.FromUnixTimeSeconds(exp) + Skew < time.GetUtcNow())
        {
            return "exp";
        }

        return WantsIdToken && claims.StringProperty("nonce") != nonce ? "nonce" : null;
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
        var sent = await http.SendAsync(Descriptor.Id, "userinfo", request, ct);
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
        ClientAuthentication.Apply(request, form, options.ClientAuthentication, options.ClientId!, options.ClientSecret!);
        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.ParseAdd("application/json");
        return await http.SendAsync(Descriptor.Id, operation, request, ct);
    }

    private async Task<ProviderResult<ServerMetadata>> MetadataAsync(CT ct)
    {
        if (!options.Discovers)
        {
            return new ServerMetadata(options.Issuer, new Uri(options.AuthorizationEndpoint!), new Uri(options.TokenEndpoint!),
                options.RevocationEndpoint is null ? null : new Uri(options.RevocationEndpoint),
                options.UserinfoEndpoint is null ? null : new Uri(options.UserinfoEndpoint),
                options.RequireIssParameter ?? false);
        }

        lock (_gate)
        {
            if (_metadata is { } cached && time.GetUtcNow() - cached.ReadAt < options.MetadataLifetime)
            {
                return cached.Metadata;
            }
        }

        ProviderFailure? lastFailure = null;
        foreach (var url in DiscoveryUrls())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("application/json");
            var sent = await http.SendAsync(Descriptor.Id, "discovery", request, ct);
            if (!sent.Succeeded)
            {
                lastFailure = sent.Failure;
                continue;
            }

            using var response = sent.Value;
            if (!response.IsSuccessStatus || response.Json is null || ServerMetadata.Read(response.Json.RootElement) is not { } discovered)
            {
                lastFailure = response.TransportFailure("discovery") ?? new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}", $"{Descriptor.DisplayName}'s metadata at {url} is not usable.");
                continue;
            }

            // OpenID Connect Discovery §4.3 / RFC 8414 §3.3: the document's issuer must be exactly the configured one.
            if (discovered.Issuer != options.Issuer)
            {
                return new ProviderFailure(ProviderFailureKind.IssuerMismatch, "metadata_issuer", $"{Descriptor.DisplayName}'s metadata names another issuer than configured.");
            }

            var effective = discovered with
            {
                AuthorizationEndpoint = options.AuthorizationEndpoint is null ? discovered.AuthorizationEndpoint : new Uri(options.AuthorizationEndpoint),
                TokenEndpoint = options.TokenEndpoint is null ? discovered.TokenEndpoint : new Uri(options.TokenEndpoint),
                RevocationEndpoint = options.RevocationEndpoint is null ? discovered.RevocationEndpoint : new Uri(options.RevocationEndpoint),
                UserinfoEndpoint = options.UserinfoEndpoint is null ? discovered.UserinfoEndpoint : new Uri(options.UserinfoEndpoint),
            };
            lock (_gate)
            {
                _metadata = (effective, time.GetUtcNow());
            }

            return effective;
        }

        LogDiscoveryFailed(logger, Descriptor.Id, lastFailure?.ProviderCode ?? "none");
        return lastFailure ?? new ProviderFailure(ProviderFailureKind.Unavailable, "discovery", $"{Descriptor.DisplayName}'s metadata could not be read.");
    }

    private IEnumerable<Uri> DiscoveryUrls()
    {
        if (options.DiscoveryUrl is not null)
        {
            yield return new Uri(options.DiscoveryUrl);
            yield break;
        }

        var issuer = new Uri(options.Issuer!);
        yield return Endpoint.Combine(issuer, ".well-known/openid-configuration");
        // RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
        yield return new Uri(issuer.GetLeftPart(UriPartial.Authority) + "/.well-known/oauth-authorization-server" + issuer.AbsolutePath.TrimEnd('/'));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Metadata of provider {ProviderId} could not be read ({Reason})")]
    private static partial void LogDiscoveryFailed(ILogger logger, string providerId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider {ProviderId} answered revocation with HTTP {Status}; RFC 7009 treats the token as gone")]
    private static partial void LogRevocationAnswer(ILogger logger, string providerId, int status);
}
