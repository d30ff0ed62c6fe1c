using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.OAuth2;

/// <summary>
/// What one RFC 7009 revocation answer means. §2.2: "The authorization server responds with HTTP status code 200 if
/// the token has been revoked successfully or if the client submitted an invalid token" — so only a 200 says the
/// token is dead. §2.2.1: errors are RFC 6749 §5.2 bodies; <c>invalid_client</c> may come as 401 (Basic) or 400
/// (credentials in the body), and then the token may well still be live. 503 (§2.2.1) and 429 mean "later".
/// </summary>
public static class Rfc7009Answers
{
    /// <summary>The answer's outcome; <see cref="Outcome.Revoked"/> only for a 200.</summary>
    public static (Outcome Outcome, RevocationResult? Result) Interpret(ProviderResponse response, string tokenHint, string providerName)
    {
        var status = (int)response.Status;
        if (status == 200)
        {
            return (Outcome.Revoked, null);
        }

        if (status is 429 or >= 500)
        {
            return (Outcome.Stop, new RevocationResult(RevocationStatus.Unavailable,
                $"{providerName} could not revoke right now (HTTP {status}); nothing was erased, retry the unlink later.", response.RetryAfter));
        }

        var error = response.Json is { } json ? OAuth2Responses.ReadError(json.RootElement, providerName) : null;
        if (error?.ProviderCode == "unsupported_token_type" && tokenHint == "access_token")
        {
            // §2.2.1: the server does not revoke access tokens. The grant itself (its refresh token) is handled separately;
            // the access token simply lives until it expires.
            return (Outcome.AccessTokenNotRevocable, null);
        }

        var code = error?.ProviderCode ?? $"http_{status}";
        var detail = error?.Kind == ProviderFailureKind.InvalidClient
            ? $"{providerName} refused the broker's client authentication at its revocation endpoint ({code}, HTTP {status}), so the access was NOT revoked and may still be live. " +
              "An operator must fix the provider's ClientId, ClientSecret or ClientAuthentication (client_secret_basic or client_secret_post); until then the user can revoke the application in their account settings at the provider."
            : $"{providerName} answered the revocation with {code} (HTTP {status}) instead of confirming it, so the access may still be live. " +
              "An operator should check the provider's revocation settings; the user can revoke the application in their account settings at the provider.";
        return (Outcome.Stop, new RevocationResult(RevocationStatus.Refused, detail));
    }

    public enum Outcome
    {
        /// <summary>200: the token is no longer valid.</summary>
        Revoked,
        /// <summary><c>unsupported_token_type</c> for an access token: it cannot be revoked and expires on its own.</summary>
        AccessTokenNotRevocable,
        /// <summary>Stop and report the accompanying result.</summary>
        Stop,
    }
}
