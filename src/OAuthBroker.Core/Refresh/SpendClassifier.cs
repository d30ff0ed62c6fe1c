using OAuthBroker.Providers;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Refresh;

/// <summary>
/// Sorts a failed spend by what the client actually knows. A token request is not idempotent: a server finishes a
/// request it fully received even when the client has gone, and RFC 9110 §9.2.2 says a client must not resend such a
/// request unless it knows the first was never applied. So only a request that never reached the provider, or an
/// answer in the provider's own protocol that says "nothing issued", leaves the token unspent; everything that could
/// have happened after the provider got the request is unknown. (A failure before any request could reach the provider
/// is sorted by the caller, from <see cref="RequestWriteWatch"/>, before this is asked.)
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
        // Name resolution, connect, TLS, or a timeout before the body was written: the request never left.
        ProviderHttpClient.NotSentCode or ProviderHttpClient.ConnectTimeoutCode => SpendVerdict.NotSpent,
        // RFC 6749 §4.1.2.1 (the code token endpoints reuse): "currently unable to handle the request due to a temporary
        // overloading or maintenance": the provider's own word that it did not handle it.
        "temporarily_unavailable" => SpendVerdict.NotSpent,
        // "server_error" (RFC 6749 §4.1.2.1): "an unexpected condition that prevented it from fulfilling the request",
        // which may come after the rotation was committed. Every 5xx, 503 included: a gateway answers 503 after its
        // upstream received the request and reset (Envoy's "upstream connect error or disconnect/reset before headers",
        // response flag UC), and a 500/502/504 says nothing about what the upstream did (RFC 9110 §15.6). Timeouts after
        // sending, resets and responses cut short likewise.
        "server_error" or "timeout" or "network" or ProviderHttpClient.IncompleteResponseCode => SpendVerdict.Unknown,
        _ when code.StartsWith("http_", StringComparison.Ordinal) => SpendVerdict.Unknown,
        // The provider's own answers in its protocol (documented retCodes mapped to "unavailable"): an answer, nothing issued.
        _ => SpendVerdict.NotSpent,
    };
}
