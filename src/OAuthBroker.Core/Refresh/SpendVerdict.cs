using OAuthBroker.Providers;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Refresh;

/// <summary>What the broker knows about a refresh token after a failed spend.</summary>
public enum SpendVerdict
{
    /// <summary>The provider answered, and its answer says nothing was issued: the token is as it was.</summary>
    NotSpent,
    /// <summary>The provider rejected the token (invalid_grant).</summary>
    Rejected,
    /// <summary>The provider may have processed the request and rotated the token; nothing usable came back.</summary>
    Unknown,
}

/// <summary>
/// Sorts a failed spend by what the client actually knows. A token request is not idempotent: a server finishes a
/// request it fully received even when the client has gone, and RFC 9110 §9.2.2 says a client must not resend such a
/// request unless it knows the first was never applied. So only answers that say "not processed" leave the token
/// unspent; everything that could have happened after the server got the request is unknown.
/// </summary>
public static class SpendClassifier
{
    public static SpendVerdict Classify(ProviderFailure failure) => failure.Kind switch
    {
        ProviderFailureKind.InvalidGrant => SpendVerdict.Rejected,
        // An error answer in the provider's own protocol (RFC 6749 §5.2 error, a Bybit retCode, 429, invalid_client)
        // means it did not issue tokens.
        ProviderFailureKind.InvalidClient or ProviderFailureKind.RateLimited or ProviderFailureKind.Rejected
            or ProviderFailureKind.AccessDenied or ProviderFailureKind.AccountNotEligible or ProviderFailureKind.RestartRequired => SpendVerdict.NotSpent,
        ProviderFailureKind.Unavailable => ClassifyUnavailable(failure.ProviderCode),
        // A 4xx with a body that is not JSON (a firewall's HTML page) was refused before processing; a 2xx the broker
        // cannot read (not JSON, no access_token, oversized, cut short) was processed: the token is rotated and the new one lost.
        ProviderFailureKind.InvalidResponse => failure.ProviderCode.StartsWith("non_json_4", StringComparison.Ordinal) || failure.ProviderCode.StartsWith("http_4", StringComparison.Ordinal)
            ? SpendVerdict.NotSpent
            : SpendVerdict.Unknown,
        _ => SpendVerdict.Unknown,
    };

    private static SpendVerdict ClassifyUnavailable(string code) => code switch
    {
        // Name resolution, connect, TLS: the request never left (HttpRequestError).
        ProviderHttpClient.NotSentCode => SpendVerdict.NotSpent,
        // RFC 9110 §15.6.4: 503, the server is unable to handle the request (it did not).
        "http_503" => SpendVerdict.NotSpent,
        // Timeout after sending, reset, a response cut short, 500 (the server failed, possibly after committing), and
        // 502/504 from a gateway (RFC 9110 §15.6.3/§15.6.5: the upstream may have processed it).
        "timeout" or "network" or ProviderHttpClient.IncompleteResponseCode => SpendVerdict.Unknown,
        _ when code.StartsWith("http_", StringComparison.Ordinal) => SpendVerdict.Unknown,
        // The provider's own "temporarily_unavailable"/"server_error" answers and retCodes: an answer, nothing issued.
        _ => SpendVerdict.NotSpent,
    };
}
