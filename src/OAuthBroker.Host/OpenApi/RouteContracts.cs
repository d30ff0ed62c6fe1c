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
    /// <summary>The completion step's body: the completion code, and the verifier for a flow started with a challenge.</summary>
    private static Microsoft.OpenApi.OpenApiSchema CompletionBody() => new()
    {
        Type = Microsoft.OpenApi.JsonSchemaType.Object,
        Required = new HashSet<string> { "completion" },
        Properties = new Dictionary<string, Microsoft.OpenApi.IOpenApiSchema>
        {
            ["completion"] = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String, Description = "The completion code from the return URL's fragment." },
            ["verifier"] = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String, Description = "The verifier of the completionChallenge the flow was started with." },
        },
    };

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

    private static readonly QueryInput ReturnUrl = new("returnUrl", false,
        "Where the flow ends: absolute on an allowed origin (Broker:AllowedReturnOrigins) or a path on the broker, no fragment, at most 2,048 characters escaped; default Broker:DefaultReturnUrl.");

    private static readonly QueryInput UserId = new("userId", true, "The platform user whose link it is, exactly once (letters, digits, . _ @ + -, at most 128).");

    public static readonly IReadOnlyDictionary<string, RouteContract> ByRoute = new Dictionary<string, RouteContract>(StringComparer.Ordinal)
    {
        ["GET api/health"] = new(200, "Alive.", typeof(HealthStatus), Always),
        ["GET api/providers"] = new(200, "The enabled providers.", typeof(ProviderDescriptor[]), [.. Always, .. Edge]),
        ["GET api/oauth/{provider}/authorize"] = new(200, "With Accept: application/json: where to send the browser.", typeof(AuthorizationStarted),
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "invalid_return_url", "invalid_ticket", "ticket_refused", "cross_site_start",
                "unauthenticated", "provider_unavailable", "storage_unavailable"])
        {
            Redirects = true,
            Query = [ReturnUrl, new("ticket", false, "A start ticket from POST …/start (a single-page app's pop-up); it fixes the user and the return URL.")],
        },
        ["POST api/oauth/{provider}/start"] = new(200, "A start ticket.", typeof(StartTicketIssued),
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "invalid_return_url", "unauthenticated", "storage_unavailable"])
        {
            Query = [ReturnUrl, new("completionChallenge", false, "The S256 challenge (RFC 7636 §4.2) of a verifier the app keeps; the completion then takes the verifier instead of the browser cookie, and returnUrl must be one of Broker:CompletionPages.")],
        },
        ["GET api/oauth/{provider}/callback"] = new(302, "Back to the return URL with oauth_result (and the completion code in the fragment).", null,
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "missing_state", "invalid_state", "browser_mismatch", "storage_unavailable"])
        {
            Redirects = true,
            Query =
            [
                new("code", false, "The authorization code (RFC 6749 §4.1.2), sent by the provider."),
                new("state", false, "The flow's state, sent back by the provider."),
                new("error", false, "The provider's error code (RFC 6749 §4.1.2.1)."),
                new("iss", false, "The issuer (RFC 9207), where the provider sends it."),
            ],
        },
        ["POST api/oauth/{provider}/complete"] = new(200, "Linked: the credential is vaulted and the link exists.", typeof(CompletedLink),
            [.. Always, .. Edge, "unknown_provider", "invalid_parameter", "unauthenticated", "invalid_completion", "completion_refused", "concurrent_change",
                "storage_unavailable", "vault_unavailable"])
        {
            RequestBody = CompletionBody,
        },
        ["GET api/links"] = new(200, "The current user's links.", typeof(LinkView[]), [.. Always, "unauthenticated", "storage_unavailable"]),
        ["DELETE api/links/{provider}/{accountId}"] = new(200, "Unlinked.", typeof(UnlinkResult),
            [.. Always, "unauthenticated", "unknown_provider", "invalid_parameter", "link_not_found", "link_busy", "unlink_overtaken", "unlink_interrupted", "revocation_unavailable",
                "revocation_refused", "concurrent_change", "storage_unavailable", "vault_unavailable"]),
        ["GET api/links/{provider}/{accountId}/credential"] = new(200, "A valid credential (never the refresh token).", typeof(BackendCredential), [.. Always, .. Credential])
        {
            Query = [UserId],
        },
        ["POST api/links/{provider}/{accountId}/refresh"] = new(200, "Refreshed; a valid credential (never the refresh token).", typeof(BackendCredential), [.. Always, .. Credential])
        {
            Query = [UserId],
        },
        ["GET api/openapi.json"] = new(200, "This OpenAPI 3.1 description.", null, [.. Always, .. Edge])
        {
            Schema = () => new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.Object },
        },
        ["GET api/events"] = new(200, "A page of the event log, oldest first.", null, [.. Always, .. Backend])
        {
            Schema = EventSchemas.Page,
            Query =
            [
                new("after", false, "A cursor from an earlier listing (its next): the events after it. Absent: from the oldest kept."),
                new("limit", false, $"Events per page, 1 to {Events.EventEndpoints.MaxLimit} (default {Events.EventEndpoints.DefaultLimit}).") { Type = Microsoft.OpenApi.JsonSchemaType.Integer },
            ],
        },
    };
}
