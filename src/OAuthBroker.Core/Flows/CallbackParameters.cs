namespace OAuthBroker.Flows;

/// <summary>
/// What the provider sent back on the redirect. Bybit adds <c>response_type</c> and <c>scope</c>, which carry
/// nothing the broker needs and are ignored.
/// </summary>
/// <param name="Issuer">RFC 9207 <c>iss</c>, when the provider sent it.</param>
/// <param name="Extra">Other single-valued, bounded query parameters a dialect may need.</param>
public sealed record CallbackParameters(string? Code, string? State, string? Error, string? Issuer, IReadOnlyDictionary<string, string> Extra)
{
    public override string ToString() => $"CallbackParameters {{ HasCode = {Code is not null}, Error = {Error} }}";
}

/// <summary>Either where to send the browser (with the outcome in the query) or a problem to show.</summary>
public sealed record CallbackOutcome(Uri? RedirectTo, Errors.BrokerError? Problem)
{
    public static CallbackOutcome Redirect(Uri to) => new(to, null);
    public static CallbackOutcome Fail(Errors.BrokerError problem) => new(null, problem);
}

/// <summary>Query parameters the broker appends to the return URL; the frontend's contract.</summary>
public static class ReturnParameters
{
    public const string Provider = "oauth_provider";
    public const string Result = "oauth_result";
    public const string Error = "oauth_error";
    public const string Linked = "linked";
    /// <summary>The completion's answer when the link exists but waits for the provider (WhiteBIT's API key); see docs/link-states.md.</summary>
    public const string PendingKey = "pending_key";
    /// <summary>The provider leg is done; the frontend must confirm it (the completion step) before a link exists.</summary>
    public const string Pending = "pending";
    public const string Failed = "error";
    /// <summary>Fragment parameter carrying the one-time completion code next to <c>oauth_result=pending</c>.</summary>
    public const string Completion = "oauth_completion";
}

/// <summary>Error codes a failed flow returns with (<c>oauth_error</c>).</summary>
public static class FlowErrorCodes
{
    public const string AccessDenied = "access_denied";
    public const string FlowExpired = "flow_expired";
    public const string InvalidCallback = "invalid_callback";
    public const string ProviderRejected = "provider_rejected";
    public const string ProviderMisconfigured = "provider_misconfigured";
    public const string AccountNotEligible = "account_not_eligible";
    public const string ProviderUnavailable = "provider_unavailable";
    public const string ProviderInvalidResponse = "provider_invalid_response";
    public const string VaultUnavailable = "vault_unavailable";
    public const string StorageUnavailable = "storage_unavailable";
    public const string IssuerMismatch = "issuer_mismatch";
    public const string RestartRequired = "restart_required";
}
