using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>
/// BuiltByBit OAuth2 (provider-contracts.md §3). Differences from RFC 6749 that live here: HTTP Basic over the raw
/// <c>id:secret</c>, identity from <c>/v2/members/self</c> inside a <c>result</c>/<c>data</c> envelope, errors as
/// RFC 6749 bodies or <c>{"result":"error","error":{…}}</c> (which one is UNCONFIRMED), revocation with
/// <c>token_hint</c> answering <c>{"revoked":true}</c>, and Retry-After that may be milliseconds.
/// </summary>
public sealed partial class BuiltByBitProvider(
    string id,
    BuiltByBitOptions options,
    ProviderHttpClient http,
    TimeProvider time,
    ILogger<BuiltByBitProvider> logger) : OAuthProviderBase
{
    private readonly Uri _api = new(options.ApiBaseUrl);

    public override ProviderDescriptor Descriptor { get; } = new(
        id,
        options.DisplayName ?? BuiltByBitDefaults.DisplayName,
        new ProviderCapabilities(Pkce: options.Pkce, RefreshTokens: true, Revocation: true, ApiKeys: false));

    public override Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct)
    {
        var parameters = new List<(string, string)>
        {
            ("client_id", options.ClientId!),
            ("response_type", "code"),
            ("redirect_uri", request.RedirectUri.AbsoluteUri),
            ("scope", string.Join(options.ScopeSeparator, options.EffectiveScopes)),
            ("state", request.State),
        };
        if (request.CodeChallenge is not null)
        {
            parameters.Add(("code_challenge", request.CodeChallenge));
            parameters.Add(("code_challenge_method", "S256"));
        }

        return Task.FromResult<ProviderResult<Uri>>(new Uri(options.AuthorizeUrl + "?" + QueryString.Build([.. parameters])));
    }

    public override async Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct)
    {
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "authorization_code"), new("code", completion.Code) };
        if (options.SendRedirectUriOnExchange)
        {
            form.Add(new("redirect_uri", completion.RedirectUri.AbsoluteUri));
        }

        if (completion.CodeVerifier is not null)
        {
            form.Add(new("code_verifier", completion.CodeVerifier));
        }

        var sent = await PostFormAsync(BuiltByBitDefaults.TokenPath, "token", form, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        ProviderCredential? credential;
        IReadOnlyList<string> scopes;
        using (var response = sent.Value)
        {
            if (TokenEndpointFailure(response) is { } failure)
            {
                return failure;
            }

            var body = response.Json!.RootElement;
            credential = OAuth2Responses.ReadCredential(body, time.GetUtcNow());
            if (credential is null)
            {
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_access_token", "BuiltByBit's token response has no access_token.");
            }

            scopes = OAuth2Responses.Scopes(body, options.EffectiveScopes, ' ', ',');
        }

        var member = await ReadSelfAsync(credential.AccessToken, ct);
        return member.Succeeded
            ? new ProviderGrant(member.Value.UserId, member.Value.Username, credential, scopes)
            : member.Failure;
    }

    /// <summary>X-T with <c>grant_type=refresh_token</c>.</summary>
    public override async Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct)
    {
        if (current.RefreshToken is null)
        {
            return await base.RefreshAsync(current, ct);
        }

        var sent = await PostFormAsync(BuiltByBitDefaults.TokenPath, "refresh", [new("grant_type", "refresh_token"), new("refresh_token", current.RefreshToken)], ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        using var response = sent.Value;
        if (TokenEndpointFailure(response) is { } failure)
        {
            return failure;
        }

        return OAuth2Responses.ReadCredential(response.Json!.RootElement, time.GetUtcNow()) is { } credential
            ? credential
            : new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_access_token", "BuiltByBit's refresh response has no access_token.");
    }

    /// <summary>Revokes the refresh token (the grant) and the access token; <c>{"revoked":…}</c> is the answer.</summary>
    public override async Task<RevocationResult> RevokeAsync(ProviderCredential credential, CT ct)
    {
        var tokens = new List<(string Token, string Hint)>();
        if (credential.RefreshToken is not null)
        {
            tokens.Add((credential.RefreshToken, "refresh_token"));
        }

        tokens.Add((credential.AccessToken, "access_token"));
        foreach (var (token, hint) in tokens)
        {
            var result = await RevokeOneAsync(token, hint, ct);
            if (result.Status != RevocationStatus.Revoked)
            {
                return result;
            }
        }

        return new RevocationResult(RevocationStatus.Revoked, "BuiltByBit confirmed the tokens are revoked.");
    }

    private async Task<RevocationResult> RevokeOneAsync(string token, string hint, CT ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var sent = await PostFormAsync(BuiltByBitDefaults.RevokePath, "revoke", [new("token", token), new("token_hint", hint)], ct);
            if (!sent.Succeeded)
            {
                return new RevocationResult(RevocationStatus.Unavailable, "BuiltByBit could not be reached to revoke the tokens.");
            }

            using var response = sent.Value;
            var status = (int)response.Status;
            if (status == 429)
            {
                var wait = BuiltByBitRetryAfter.Interpret(response.RawRetryAfter) ?? TimeSpan.FromSeconds(1);
                if (attempt == 0 && wait <= options.MaxInlineRetryWait)
                {
                    await Task.Delay(wait, time, ct);
                    continue;
                }

                return new RevocationResult(RevocationStatus.Unavailable, "BuiltByBit is rate-limiting revocation.", wait);
            }

            if (status >= 500 || status == 401)
            {
                // 401: the broker's own client credentials were refused; erasing now would lose the chance to revoke.
                return new RevocationResult(RevocationStatus.Unavailable, $"BuiltByBit refused or failed the revocation (HTTP {status}).");
            }

            // Anything else that is not a clear "revoked": RFC 7009 treats an unknown token as success; BuiltByBit's
            // {"revoked":false} likewise means there is nothing left to revoke.
            var revoked = response.Json?.RootElement is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("revoked", out var flag) && flag.ValueKind == JsonValueKind.True;
            if (!revoked)
            {
                LogRevokeAnswer(logger, Descriptor.Id, status);
            }

            return new RevocationResult(RevocationStatus.Revoked, "BuiltByBit confirmed the tokens are revoked.");
        }
    }

    private async Task<ProviderResult<(string UserId, string? Username)>> ReadSelfAsync(string accessToken, CT ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Endpoint.Combine(_api, BuiltByBitDefaults.MembersSelfPath));
        request.Headers.Authorization = new("Bearer", accessToken);
        request.Headers.Accept.ParseAdd("application/json");
        var sent = await http.SendAsync(Descriptor.Id, "members/self", request, ct);
        if (!sent.Succeeded)
        {
            return sent.Failure;
        }

        using var response = sent.Value;
        if (response.TransportFailure("members/self") is { } transport)
        {
            return transport;
        }

        var root = response.Json!.RootElement;
        if (EnvelopeError(root) is not null || !response.IsSuccessStatus)
        {
            return new ProviderFailure(ProviderFailureKind.TokenRejected, $"http_{(int)response.Status}", "BuiltByBit refused the new access token on /v2/members/self.");
        }

        // The spec types user_id as a string; the real JSON type is UNCONFIRMED, so a number is read too.
        var self = root.ObjectProperty("data")?.ObjectProperty("self");
        var userId = self?.StringProperty("user_id");
        return string.IsNullOrEmpty(userId)
            ? new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_user_id", "BuiltByBit's members/self answer has no data.self.user_id.")
            : (userId, self?.StringProperty("username"));
    }

    private async Task<ProviderResult<ProviderResponse>> PostFormAsync(string path, string operation, List<KeyValuePair<string, string>> form, CT ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint.Combine(_api, path));
        ClientAuthentication.Apply(request, form, ClientAuthenticationMethod.ClientSecretBasicRaw, options.ClientId!, options.ClientSecret!);
        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.ParseAdd("application/json");
        return await http.SendAsync(Descriptor.Id, operation, request, ct);
    }

    /// <summary>Both documented error shapes of the token endpoint; null when the answer is a usable success.</summary>
    private ProviderFailure? TokenEndpointFailure(ProviderResponse response)
    {
        var status = (int)response.Status;
        if (status == 429)
        {
            return new ProviderFailure(ProviderFailureKind.RateLimited, "http_429", "BuiltByBit rate-limited the token request.", BuiltByBitRetryAfter.Interpret(response.RawRetryAfter));
        }

        if (response.TransportFailure("token") is { } transport)
        {
            return transport;
        }

        var body = response.Json!.RootElement;
        if (OAuth2Responses.ReadError(body, Descriptor.DisplayName) is { } rfcError)
        {
            return rfcError;
        }

        if (EnvelopeError(body) is { } code)
        {
            return status == 401
                ? new ProviderFailure(ProviderFailureKind.InvalidClient, code, "BuiltByBit rejected the broker's client credentials (401): check ClientId and ClientSecret.")
                : new ProviderFailure(ProviderFailureKind.InvalidGrant, code, $"BuiltByBit refused the authorization code ({code}).");
        }

        return response.IsSuccessStatus ? null : new ProviderFailure(ProviderFailureKind.Rejected, $"http_{status}", $"BuiltByBit answered HTTP {status}.");
    }

    /// <summary>The code of a <c>{"result":"error","error":{"code":…}}</c> envelope, or null.</summary>
    private static string? EnvelopeError(JsonElement body) =>
        body.StringProperty("result") == "error"
            ? new string((body.ObjectProperty("error")?.StringProperty("code") ?? "error").Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-').Take(64).ToArray())
            : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "BuiltByBit ({ProviderId}) answered revocation with HTTP {Status} and no revoked:true; treated as nothing left to revoke")]
    private static partial void LogRevokeAnswer(ILogger logger, string providerId, int status);
}
