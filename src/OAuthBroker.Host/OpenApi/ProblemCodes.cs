namespace OAuthBroker.Host.OpenApi;

/// <summary>
/// Every problem <c>code</c> the broker answers with and its HTTP status (<see cref="OAuthBroker.Errors.BrokerErrors"/>,
/// the edge's answers in <c>EdgePolicies</c> and <c>UnidentifiedClientAnswers</c>, and <c>BrokerExceptionHandler</c>),
/// for the description's per-route problem responses. A test checks it against the catalogue and the README.
/// </summary>
internal static class ProblemCodes
{
    public static readonly IReadOnlyDictionary<string, int> Status = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["invalid_parameter"] = 400,
        ["invalid_return_url"] = 400,
        ["missing_state"] = 400,
        ["invalid_state"] = 400,
        ["browser_mismatch"] = 400,
        ["invalid_ticket"] = 400,
        ["invalid_completion"] = 400,
        ["unauthenticated"] = 401,
        ["backend_unauthenticated"] = 401,
        ["backend_forbidden"] = 403,
        ["ticket_refused"] = 403,
        ["cross_site_start"] = 403,
        ["completion_refused"] = 403,
        ["not_through_front_door"] = 403,
        ["unknown_provider"] = 404,
        ["link_not_found"] = 404,
        ["link_busy"] = 409,
        ["unlink_overtaken"] = 409,
        ["concurrent_change"] = 409,
        ["reauth_required"] = 409,
        ["link_expired"] = 409,
        ["rate_limited"] = 429,
        ["internal_error"] = 500,
        ["revocation_refused"] = 502,
        ["credential_unavailable"] = 503,
        ["provider_unavailable"] = 503,
        ["revocation_unavailable"] = 503,
        ["storage_unavailable"] = 503,
        ["unlink_interrupted"] = 503,
        ["vault_unavailable"] = 503,
        ["client_address_unavailable"] = 503,
    };
}
