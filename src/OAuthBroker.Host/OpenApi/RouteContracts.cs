using OAuthBroker.Credentials;
using OAuthBroker.Flows;
using OAuthBroker.Host.Endpoints;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// Each mapped route's contract, keyed by method and relative path as the API explorer names them. The problem codes
/// follow what each endpoint and the services it calls return (and the exception handler, for storage and vault
/// failures); a test checks them against the README's route tables and problem-code list.
/// </summary>
internal static class RouteContracts
{
    /// <summary>What any route can answer: an unexpected failure.</summary>
    private static readonly string[] Always = ["internal_error"];

    /// <summary>The anonymous routes behind the rate limiter, which also refuses requests without a client address.</summary>
    private static readonly string[] Edge = ["rate_limited", "not_through_front_door", "client_address_unavailable"];

    private static readonly string[] Backend = ["backend_unauthenticated", "invalid_parameter", "storage_unavailable"];

    private static readonly string[] Credential =
    [
        .. Backend, "backend_forbidden", "unknown_provider", "link_not_found", "reauth_required", "link_expired", "credential_unavailable",
        "vault_unavailable", "concurrent_change",
    ];

    public static readonly IReadOnlyDictionary<string, RouteContract> ByRoute = new Dictionary<string, RouteContract>(StringComparer.Ordinal)
    {
        ["GET api/health"] = new(200, "Alive.", typeof(HealthStatus), Always),
        ["GET api/providers"] = new(200, "The enabled providers.", typeof(ProviderDescriptor[]), [.. Always, .. Edge]),
        ["GET api/oauth/{provider}/authorize"] = new(200, "With Accept: application/json: where to send the browser.", typeof(AuthorizationStarted),
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "invalid_return_url", "invalid_ticket", "ticket_refused", "cross_site_start",
                "unauthenticated", "provider_unavailable", "storage_unavailable"])
        { Redirects = true },
        ["POST api/oauth/{provider}/start"] = new(200, "A start ticket.", typeof(StartTicketIssued),
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "invalid_return_url", "unauthenticated", "storage_unavailable"]),
        ["GET api/oauth/{provider}/callback"] = new(302, "Back to the return URL with oauth_result (and the completion code in the fragment).", null,
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "missing_state", "invalid_state", "browser_mismatch", "storage_unavailable"])
        { Redirects = true },
        ["POST api/oauth/{provider}/complete"] = new(200, "Linked: the credential is vaulted and the link exists.", typeof(CompletedLink),
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "unauthenticated", "invalid_completion", "completion_refused", "concurrent_change",
                "storage_unavailable", "vault_unavailable"]),
        ["GET api/links"] = new(200, "The current user's links.", typeof(LinkView[]), [.. Always, "unauthenticated", "storage_unavailable"]),
        ["DELETE api/links/{provider}/{accountId}"] = new(200, "Unlinked.", typeof(UnlinkResult),
            [.. Always, "unauthenticated", "unknown_provider", "invalid_parameter", "link_not_found", "link_busy", "revocation_unavailable", "revocation_refused",
                "concurrent_change", "storage_unavailable", "vault_unavailable"]),
        ["GET api/links/{provider}/{accountId}/credential"] = new(200, "A valid credential (never the refresh token).", typeof(BackendCredential), [.. Always, .. Credential]),
        ["POST api/links/{provider}/{accountId}/refresh"] = new(200, "Refreshed; a valid credential (never the refresh token).", typeof(BackendCredential), [.. Always, .. Credential]),
        ["GET api/events"] = new(200, "A page of the event log, oldest first.", null, [.. Always, .. Backend]) { Schema = EventSchemas.Page },
    };
}
