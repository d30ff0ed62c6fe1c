using System.Text.Json;
using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;
using OAuthBroker.Providers.OAuth2;

namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>
/// BuiltByBit OAuth2 (https://builtbybit.com/wiki/oauth2/; BuiltByBit/api-openapi-spec spec.yaml paths /oauth2/token and
/// /oauth2/token/revoke). Differences from RFC 6749 that live here: HTTP Basic over the raw <c>id:secret</c> by default,
/// identity from <c>/v2/members/self</c> inside a <c>result</c>/<c>data</c> envelope, errors as RFC 6749 bodies or
/// <c>{"result":"error","error":{…}}</c> (which one is undocumented), revocation with <c>token_hint</c> answering
/// <c>{"revoked":…}</c>, and a Retry-After that may be milliseconds.
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
        new ProviderCapabilities(Pkce: options.Pkce, RefreshTokens: true, Revocation: true, ApiKeys: false))
    {
        RefreshMargin = options.RefreshMargin,
    };

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

        return Task.FromResult<ProviderResult<Uri>>(QueryString.Append(new Uri(options.AuthorizeUrl), [.. parameters]));
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
            if (TokenEndpointFailure(response, "token") is { } failure)
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

    /// <summary>/oauth2/token with <c>grant_type=refresh_token</c> (Oauth2Api getOauth2Token).</summary>
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
        if (TokenEndpointFailure(response, "refresh") is { } failure)
        {
            return failure;
        }

        return OAuth2Responses.ReadCredential(response.Json!.RootElement, time.GetUtcNow()) is { } credential
            ? credential
            : new ProviderFailure(ProviderFailureKind.InvalidResponse, "no_access_token", "BuiltByBit's refresh response has no access_token.");
    }

    /// <summary>
    /// Revokes the refresh token (the grant) and the access token. The spec documents one answer, 200 with
    /// <c>{"revoked": boolean}</c> (default true); only that counts as revoked, as RFC 7009 §2.2 counts only a 200.
    /// </summary>
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
                return new RevocationResult(RevocationStatus.Unavailable, "BuiltByBit could not be reached to revoke the tokens; nothing was erased, retry the unlink later.");
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

                return new RevocationResult(RevocationStatus.Unavailable, "BuiltByBit is rate-limiting revocation; nothing was erased, retry the unlink later.", wait);
            }

            if (status >= 500)
            {
                return new RevocationResult(RevocationStatus.Unavailable, $"BuiltByBit failed the revocation (HTTP {status}); nothing was erased, retry the unlink later.",
                    BuiltByBitRetryAfter.Interpret(response.RawRetryAfter));
            }

            var body = response.Json?.RootElement;
            var revoked = body is { ValueKind: JsonValueKind.Object } answer && answer.TryGetProperty("revoked", out var flag) ? flag.ValueKind : JsonValueKind.Undefined;
            if (status == 200 && revoked != JsonValueKind.False)
            {
                // {"revoked":true}, or a 200 without the flag: the spec's default is true and RFC 7009 §2.2 reads a 200 as done.
                return new RevocationResult(RevocationStatus.Revoked, "BuiltByBit confirmed the tokens are revoked.");
            }

            LogRevocationRefused(logger, Descriptor.Id, status, body is { } b ? EnvelopeError(b) ?? "none" : "none");
            return new RevocationResult(RevocationStatus.Refused, status == 200
                ? "BuiltByBit answered that it did not revoke the token ({\"revoked\":false}), so the access may still be live. " +
                  "The user can remove the application's access in their BuiltByBit account; the broker keeps the link until it is revoked."
                : $"BuiltByBit refused the revocation (HTTP {status}), so the access may still be live. An operator should check the client credentials " +
                  "and the API v2 token behind them (enabled, its Project name set, an active Ultimate subscription); the user can remove the application's access in their BuiltByBit account.");
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
            // BuiltByBit's Retry-After may be milliseconds, on every endpoint (BuiltByBitRetryAfter).
            return transport with { RetryAfter = BuiltByBitRetryAfter.Interpret(response.RawRetryAfter) };
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
        ClientAuthentication.Apply(request, form, options.ClientAuthentication, options.ClientId!, options.ClientSecret!);
        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.ParseAdd("application/json");
        return await http.SendAsync(Descriptor.Id, operation, request, ct);
    }

    /// <summary>Both possible error shapes of the token endpoint; null when the answer is a usable success.</summary>
    private ProviderFailure? TokenEndpointFailure(ProviderResponse response, string operation)
    {
        var status = (int)response.Status;
        var retryAfter = BuiltByBitRetryAfter.Interpret(response.RawRetryAfter);
        if (status == 429)
        {
            return new ProviderFailure(ProviderFailureKind.RateLimited, "http_429", $"BuiltByBit rate-limited the {operation} request.", retryAfter);
        }

        if (response.TransportFailure(operation) is { } transport)
        {
            return transport with { RetryAfter = retryAfter };
        }

        var body = response.Json!.RootElement;
        if (OAuth2Responses.ReadError(body, Descriptor.DisplayName) is { } rfcError)
        {
            return rfcError;
        }

        // Note: 401 and 403 are about the broker's client, not the user's code: the wiki ties the client credentials to an
        // API v2 token whose enabled scopes, "Project name" and disabled status (and the account's Ultimate subscription)
        // decide whether authorization requests proceed. Telling the user to re-authorize would not help.
        if (status is 401 or 403)
        {
            return new ProviderFailure(ProviderFailureKind.InvalidClient, EnvelopeError(body) ?? $"http_{status}",
                $"BuiltByBit refused the broker's client (HTTP {status}): check ClientId and ClientSecret, and that the API v2 token behind them is enabled, has a Project name and the requested scopes, and that the account's Ultimate subscription is active.");
        }

        if (EnvelopeError(body) is { } code)
        {
            return new ProviderFailure(ProviderFailureKind.InvalidGrant, code, operation == "refresh"
                ? $"BuiltByBit refused the refresh token ({code})."
                : $"BuiltByBit refused the authorization code ({code}).");
        }

        return response.IsSuccessStatus ? null : new ProviderFailure(ProviderFailureKind.Rejected, $"http_{status}", $"BuiltByBit answered HTTP {status}.");
    }

    /// <summary>The code of a <c>{"result":"error","error":{"code":…}}</c> envelope, or null.</summary>
    private static string? EnvelopeError(JsonElement body) =>
        body.StringProperty("result") == "error"
            ? new string((body.ObjectProperty("error")?.StringProperty("code") ?? "error").Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-').Take(64).ToArray())
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "BuiltByBit ({ProviderId}) did not confirm a revocation (HTTP {Status}, error {ErrorCode}); reported as refused, nothing erased")]
    private static partial void LogRevocationRefused(ILogger logger, string providerId, int status, string errorCode);
}
