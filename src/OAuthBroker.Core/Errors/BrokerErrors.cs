namespace OAuthBroker.Errors;

/// <summary>
/// The catalogue of problem types the broker answers with. One place, so the docs and tests can list them.
/// Details are the broker's own words: nothing from the request is ever echoed (the caller knows what it sent), and
/// a provider id appears only where it names a provider the broker has configured.
/// </summary>
public static class BrokerErrors
{
#pragma warning disable IDE0060 // The route's value is taken for the callers' convenience and deliberately not echoed.
    public static BrokerError UnknownProvider(string providerId) => new(
        "unknown_provider", 404, "Unknown provider",
        "No enabled provider has the id in the request path. GET /api/providers lists the enabled ones.");
#pragma warning restore IDE0060

    public static BrokerError InvalidParameter(string name, string reason) => new(
        "invalid_parameter", 400, "Invalid parameter", $"The parameter '{name}' {reason}.");

    public static BrokerError InvalidReturnUrl(string reason) => new(
        "invalid_return_url", 400, "Return URL not allowed", $"The returnUrl {reason}.");

    public static readonly BrokerError MissingState = new(
        "missing_state", 400, "Missing state",
        "The callback carries no state parameter, so it cannot belong to a flow this broker started.");

    public static readonly BrokerError InvalidState = new(
        "invalid_state", 400, "Unknown or used state",
        "The state does not match an authorization flow open in this browser: it is forged, already used, or the flow was started in another browser. Start the connection again.");

    public static readonly BrokerError BrowserMismatch = new(
        "browser_mismatch", 400, "Flow started in another browser",
        "This authorization flow was started in another browser (or this browser's binding cookie is missing). Start the connection again from this browser.");

    /// <summary>A start ticket with a completion challenge opened by a page that is not one of the configured frontends.</summary>
    public static readonly BrokerError TicketFromElsewhere = new(
        "ticket_refused", 403, "Start ticket opened from elsewhere",
        "A start ticket with a completion challenge starts a flow only when a page of one of the configured frontends (Broker:AllowedReturnOrigins) " +
        "opens it; this browser came from elsewhere (its Referer names no such origin), so the ticket was used up without starting anything. " +
        "Open the authorize URL from your frontend's page, without a no-referrer policy.");

    /// <summary>A flow started from the browser's sign-in cookie by a navigation another site caused (Fetch Metadata).</summary>
    public static readonly BrokerError CrossSiteStart = new(
        "cross_site_start", 403, "Flow started from another site",
        "A connection is started from a page of the broker or of one of the configured frontends (Broker:AllowedReturnOrigins); this request " +
        "came from another site (Sec-Fetch-Site, and its Referer names no such origin), so nothing was started. Start the connection from your frontend's page.");

    public static readonly BrokerError InvalidTicket = new(
        "invalid_ticket", 400, "Unknown or used start ticket",
        "The start ticket is unknown, expired (tickets live 60 seconds) or already used. Ask for a new one.");

    public static readonly BrokerError InvalidCompletion = new(
        "invalid_completion", 400, "Unknown or used completion code",
        "The completion code is unknown, already used, or its pending connection has expired (it lives a few minutes). Connect the account again.");

    /// <summary>The completing user is not the user the flow was started for: the grant was discarded.</summary>
    public static readonly BrokerError CompletionRefusedForUser = new(
        "completion_refused", 403, "Connection belongs to another user",
        "This connection was started for another platform user, so nothing was linked; the provider's grant was discarded and revoked where the provider allows it. " +
        "If you meant to connect an account, start again from your own session.");

    /// <summary>The completion did not come from the browser that finished the provider leg: the grant was discarded.</summary>
    public static readonly BrokerError CompletionRefusedForBrowser = new(
        "completion_refused", 403, "Connection finished in another browser",
        "The completion request did not carry the browser cookie of the browser that finished this connection, so nothing was linked; " +
        "the provider's grant was discarded and revoked where the provider allows it. Complete from that browser, with credentials included, " +
        "from a page on the broker's site, or start with a completion challenge and complete with its verifier (see the README, \"Completing a connection\").");

    /// <summary>The flow was started with a completion challenge and the completion did not bring its verifier: the grant was discarded.</summary>
    public static readonly BrokerError CompletionRefusedForVerifier = new(
        "completion_refused", 403, "Completion verifier missing or wrong",
        "This connection was started with a completion challenge, and the completion request did not carry the matching verifier, so nothing was linked; " +
        "the provider's grant was discarded and revoked where the provider allows it. Complete from the frontend that asked for the start ticket, " +
        "with the verifier it kept (see the README, \"Completing a connection\").");

    public static readonly BrokerError Unauthenticated = new(
        "unauthenticated", 401, "Caller not authenticated",
        "This endpoint needs an authenticated user.");

#pragma warning disable IDE0060 // Not echoed: the value comes from the request path.
    public static BrokerError LinkNotFound(string providerId) => new(
        "link_not_found", 404, "Link not found",
        "The current user has no link with that provider and account id.");
#pragma warning restore IDE0060

    public static readonly BrokerError StorageUnavailable = new(
        "storage_unavailable", 503, "Storage unavailable",
        "Account links could not be read or written right now. Nothing was changed; retry shortly.");

    public static readonly BrokerError VaultUnavailable = new(
        "vault_unavailable", 503, "Vault unavailable",
        "The credential vault could not be reached right now. Nothing was changed; retry shortly.");

    public static BrokerError ProviderUnavailable(string providerId) => new(
        "provider_unavailable", 503, "Provider unavailable",
        $"The provider '{Printable(providerId)}' could not be prepared for sign-in (its metadata could not be read). Retry shortly.");

    public static BrokerError RevocationUnavailable(string detail) => new(
        "revocation_unavailable", 503, "Revocation unavailable",
        detail + " Nothing was erased, so the unlink can simply be retried.");

    public static BrokerError RevocationRefused(string detail) => new(
        "revocation_refused", 502, "Revocation refused",
        detail + " Nothing was erased: the link stays so it can be revoked once the cause is fixed (the operator has been told). " +
        "To end the access now, remove the application in the provider's own account settings, then unlink again.");

    public static readonly BrokerError LinkBusy = new(
        "link_busy", 409, "Link busy",
        "A refresh of this link is still running and holds it. Nothing was changed; retry in a minute.");

    /// <summary>
    /// The unlink lost its hold on the link (its lease) before it could finish: storage stopped taking the lease's renewals
    /// until its deadline. Says what happened at the provider; nothing was erased at the broker, and a retry finishes it (the
    /// caller sets <see cref="BrokerError.RetryAfterSeconds"/>: when its lease has lapsed).
    /// </summary>
    public static BrokerError UnlinkInterruptedByStorage(string atProvider) => new(
        "unlink_interrupted", 503, "Unlink interrupted",
        atProvider + " Storage stopped answering while the unlink held the link, so it lost its hold on the link before it could finish: " +
        "nothing was erased at the broker (the link and its credential are kept). Retry the unlink; it finishes it.");

    /// <summary>The unlink lost its hold on the link (its lease) to another writer before it could finish.</summary>
    public static BrokerError UnlinkOvertaken(string atProvider) => new(
        "unlink_overtaken", 409, "Unlink overtaken",
        atProvider + " Another writer took the link while the unlink held it, so it stopped before it could finish: " +
        "nothing was erased at the broker (the link and its credential are kept). Retry the unlink; it finishes it.");

    public static BrokerError ReauthRequired(string providerId) => new(
        "reauth_required", 409, "User must connect again",
        $"The '{Printable(providerId)}' provider rejected this link's refresh token; the user must connect the account again.");

    public static BrokerError LinkExpired(string providerId) => new(
        "link_expired", 409, "Link expired",
        $"The '{Printable(providerId)}' access token has expired and the provider issues no refresh token; the user must connect the account again.");

    public static BrokerError CredentialUnavailable(string providerId) => new(
        "credential_unavailable", 503, "Credential unavailable",
        $"No valid '{Printable(providerId)}' credential can be handed out right now (the refresh is failing transiently); retry shortly.");

    public static readonly BrokerError BackendUnauthenticated = new(
        "backend_unauthenticated", 401, "Backend not authenticated",
        "This endpoint is for the platform's backends: send a configured key in the X-Api-Key header.");

#pragma warning disable IDE0060 // Not echoed: the value comes from the request path.
    public static BrokerError BackendForbidden(string providerId) => new(
        "backend_forbidden", 403, "Provider not allowed for this backend",
        "This backend may not read credentials of the provider in the request path.");
#pragma warning restore IDE0060

    public static readonly BrokerError ConcurrentChange = new(
        "concurrent_change", 409, "Concurrent change",
        "The link changed while this request ran. Read it again and retry.");

    /// <summary>Provider ids and similar echoes are cut and stripped of control characters before they reach a response.</summary>
    internal static string Printable(string value)
    {
        var cut = value.Length > 64 ? value[..64] + "…" : value;
        return new string(cut.Where(c => !char.IsControl(c)).ToArray());
    }
}
