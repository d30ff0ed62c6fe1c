namespace OAuthBroker.Providers.WhiteBit;

/// <summary>Settings of a WhiteBIT provider (section <c>Providers:{id}</c>, dialect <c>whitebit</c>).</summary>
public sealed class WhiteBitOptions : ProviderOptions
{
    /// <summary><c>FastApiKey</c> (default; the current WhiteBIT OAuth) or <c>Classic</c> (documented as removed 2026-11-01, guides/partner-faq).</summary>
    public WhiteBitFlow Flow { get; set; } = WhiteBitFlow.FastApiKey;

    /// <summary>
    /// <c>Global</c> (whitebit.com, default) or <c>Eu</c> (whitebit.eu). The API-key endpoints are global only (openapi/oauth2.yaml,
    /// tag "OAuth API Keys": "The EU server (https://whitebit.eu) does not expose these endpoints"), so the Fast flow needs Global.
    /// </summary>
    public WhiteBitServer Server { get; set; } = WhiteBitServer.Global;

    /// <summary>Overrides the server of <see cref="Server"/> (the sandbox uses this).</summary>
    public string? ServerUrl { get; set; }

    /// <summary>Overrides where the API-key endpoints are (always the global server in production).</summary>
    public string? ApiKeyServerUrl { get; set; }

    /// <summary>
    /// Fast API Key: how soon after a look that found no key to look again (the guide: every 1–2 s). Default 1.5 s; a
    /// pending link is looked at by the scheduled run, so in practice at each run once this has passed.
    /// </summary>
    public TimeSpan ApiKeyPollInterval { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// Fast API Key, completed after the callback (<see cref="IDeferredAuthorization"/>): how long the user may take to
    /// create the key after the exchange — choosing permissions and confirming with 2FA (guides/fast-api-key-integration,
    /// step 0.6). Default 10 minutes.
    /// </summary>
    public TimeSpan PendingKeyWaitTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Fast API Key, completed after the callback: total time spent waiting out 423s. Default 5 min (the guide: "total budget 3–5 minutes").</summary>
    public TimeSpan PendingLockedTotalWait { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Lifetime of a refresh token, which WhiteBIT's answer does not carry: openapi/oauth2.yaml, /oauth2/refresh_token, "Refresh
    /// token duration is 600 seconds". Default 600 s; the refresh schedule uses it so the token is renewed in time.
    /// </summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>First wait after a 423 (sent without Retry-After), for the key's secret and for deleting a key. Default 5 s (the guide: 5–10 s).</summary>
    public TimeSpan LockedInitialBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest single wait after 423. Default 60 s (the guide's cap).</summary>
    public TimeSpan LockedMaxBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Total time one key deletion (unlink; removing the key a failed or abandoned flow created) spends waiting out 423s
    /// before it answers "not yet, retry" and erases nothing. Default 90 s: an unlink is an HTTP request, which Azure
    /// Functions ends at 230 s. (Before the key wait left the callback this was <c>LockedTotalWait</c>, which also bounded
    /// the callback's own wait; that setting is no longer read.)
    /// </summary>
    public TimeSpan KeyDeletionLockedTotalWait { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Callback parameter that carries the public API key when WhiteBIT's frontend delivers it (the older guide;
    /// mechanism "PENDING"). When absent, the key's <c>externalId</c> is the public key (the newer guide). Default <c>apiKey</c>.
    /// </summary>
    public string ApiKeyCallbackParameter { get; set; } = "apiKey";

    public Uri ResolvedServer => new(ServerUrl ?? (Server == WhiteBitServer.Eu ? WhiteBitDefaults.EuServer : WhiteBitDefaults.GlobalServer));

    public Uri ResolvedApiKeyServer => new(ApiKeyServerUrl ?? WhiteBitDefaults.GlobalServer);

    public override IEnumerable<string> Validate(string prefix) => base.Validate(prefix)
        .Concat(Flow == WhiteBitFlow.FastApiKey && Server == WhiteBitServer.Eu && ServerUrl is null
            ? [$"{prefix}: the FastApiKey flow needs Server Global: WhiteBIT's API-key endpoints exist on whitebit.com only, not on whitebit.eu."] : [])
        .Concat(PendingKeyWaitTimeout < ApiKeyPollInterval || PendingLockedTotalWait < LockedInitialBackoff || RefreshTokenLifetime <= TimeSpan.Zero
            ? [$"{prefix}: PendingKeyWaitTimeout must not be shorter than ApiKeyPollInterval, nor PendingLockedTotalWait than LockedInitialBackoff (each wait must allow one more look), and RefreshTokenLifetime must be positive."] : [])
        .Concat(ValidateEndpoint(prefix, nameof(ServerUrl), ServerUrl))
        .Concat(ValidateEndpoint(prefix, nameof(ApiKeyServerUrl), ApiKeyServerUrl))
        .Concat(ApiKeyPollInterval <= TimeSpan.Zero ? [$"{prefix}:ApiKeyPollInterval must be positive."] : [])
        .Concat(LockedInitialBackoff <= TimeSpan.Zero || LockedMaxBackoff < LockedInitialBackoff
            || KeyDeletionLockedTotalWait < TimeSpan.Zero || KeyDeletionLockedTotalWait > TimeSpan.FromSeconds(200)
            ? [$"{prefix}: 423 backoff needs 0 < LockedInitialBackoff <= LockedMaxBackoff and 0 <= KeyDeletionLockedTotalWait <= 200 s (an unlink is an HTTP request, ended at 230 s)."] : []);
}

public enum WhiteBitFlow
{
    FastApiKey,
    Classic,
}

public enum WhiteBitServer
{
    Global,
    Eu,
}
