namespace OAuthBroker.Sandbox;

/// <summary>
/// How the WhiteBIT sandbox behaves. Sources: openapi/oauth2.yaml of whitebit-exchange/docs (the API reference pages
/// get-access-token, refresh-token, api-key-info, api-key-secret, api-key-delete), guides/fast-api-key-via-oauth (the
/// older guide) and guides/fast-api-key-integration (the newer guide, whose latest revision issues refresh tokens).
/// </summary>
public sealed class WhiteBitSandboxOptions
{
    public List<SandboxClient> Clients { get; set; } = [];

    /// <summary>
    /// The Fast API Key flow's tokens, on which the documents changed. <c>ShortLivedWithRefresh</c>: the newest texts —
    /// api-reference oauth/usage/overview, the App Builders FAQ ("short-lived and is issued together with a refresh
    /// token"), fast-api-key-integration ("a short-lived access token and a refresh token ... replace the stored pair on
    /// every refresh"). <c>FourHoursNoRefresh</c> (default): the older ones — fast-api-key-via-oauth and the earlier
    /// revision of fast-api-key-integration ("4-hour access token, and no refresh token"); the default because the
    /// unconfirmed-link housekeeping does not yet renew an expired token before deleting the key (see docs/providers/whitebit.md).
    /// The provider tests that depend on the tokens name the reading they run.
    /// </summary>
    public FastTokenReading FastTokens { get; set; } = FastTokenReading.FourHoursNoRefresh;

    /// <summary>
    /// When the user's key is created. <c>AfterExchange</c> (default): fast-api-key-integration step 0.6 — after the code
    /// exchange, the user selects permissions and confirms with 2FA (<see cref="KeyCreatedAfter"/> later).
    /// <c>DuringConsent</c>: fast-api-key-via-oauth — "the WhiteBIT frontend creates the key as part of the consent flow, so
    /// the value appears shortly after" (visible from poll <see cref="KeyReadyAfterPolls"/> on).
    /// </summary>
    public KeyCreationReading KeyCreation { get; set; } = KeyCreationReading.AfterExchange;

    /// <summary>
    /// What a consent with an active key for this (user, partner) does ("One active OAuth-issued API key per (user,
    /// partner) pair", both guides). <c>GateBlocks</c> (default): fast-api-key-integration 0.3 — "When the gate blocks, the
    /// flow stops on WhiteBIT's page: no authorization code is issued and the partner receives no callback".
    /// <c>ConsentRedirects</c>: fast-api-key-via-oauth, partner_key_active_exists — "the consent flow terminates and the
    /// partner detects the failure as the absence of a created key on the subsequent GET /info poll" (a callback and a token
    /// still come, and /info reports the pair's existing key).
    /// </summary>
    public ExistingKeyReading ExistingActiveKey { get; set; } = ExistingKeyReading.GateBlocks;

    /// <summary>
    /// <c>DuringConsent</c>: the key shows in <c>/api-key/info</c> from this poll on (1 = the first). Default 2:
    /// fast-api-key-via-oauth, "the WhiteBIT frontend creates the key as part of the consent flow, so the value appears
    /// shortly after" — shortly after, not at the first look, which is why that guide polls ("GET /info every 1–2 s").
    /// 1 is the quick path (a test that wants the key at the callback's look sets it).
    /// </summary>
    public int KeyReadyAfterPolls { get; set; } = 2;

    /// <summary>
    /// <c>AfterExchange</c>: how long after the exchange the user has created the key. fast-api-key-integration step 0.6:
    /// after the code exchange the user selects the key's permissions, confirms with 2FA and creates the partner key — a
    /// person's steps, so the key is not there at the exchange and not at once (the documents give no figure). Default 10 s.
    /// <see cref="TimeSpan.Zero"/> is the quick path (the key is there at the broker's first look, a test sets it);
    /// <see cref="TimeSpan.MaxValue"/> = not until <c>WhiteBitSandboxEndpoints.State.FinishKeyCreation</c> (the tests of the wait).
    /// </summary>
    public TimeSpan KeyCreatedAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><c>FourHoursNoRefresh</c>: "4-hour access token" (fast-api-key-via-oauth).</summary>
    public TimeSpan FastAccessTokenLifetime { get; set; } = TimeSpan.FromHours(4);

    /// <summary>get-access-token: "Access token duration is 300 seconds" (classic, and the short-lived Fast reading).</summary>
    public TimeSpan ClassicAccessTokenLifetime { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>refresh-token: "Refresh token duration is 600 seconds".</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>
    /// Whether a refresh token is still usable after it was rotated away. WhiteBIT documents only the rotation
    /// ("New refresh token", refresh-token; "replace the stored pair", the newer guide). <c>true</c> (default): reuse revokes
    /// the grant, RFC 9700 §4.14.2's replay detection; <c>false</c>: only that token is refused.
    /// </summary>
    public bool ReusedRefreshTokenRevokesGrant { get; set; } = true;

    /// <summary>refresh-token: "Rate limit: 1 request per second". The window is a setting so tests can widen or close it.</summary>
    public TimeSpan RefreshRateLimitWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>FourHoursNoRefresh</c>: answer <c>"refresh_token": null</c> instead of leaving it out (which one is undocumented).</summary>
    public bool FastRefreshTokenAsNull { get; set; }

    /// <summary>
    /// api-key-secret 423, "A concurrent secret-retrieval attempt holds the lock. Retry after a short delay": the secret
    /// answers 423 for this long after the key appears, as if another retrieval held the lock. Default zero (no lock).
    /// </summary>
    public TimeSpan SecretLockedFor { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The status of a DELETE on a disabled key. api-key-delete: "disabled keys must be removed by the user from the WhiteBIT
    /// dashboard" — the answer is undocumented. Default 400.
    /// </summary>
    public int DisabledKeyDeleteStatus { get; set; } = 400;
}

public enum FastTokenReading
{
    ShortLivedWithRefresh,
    FourHoursNoRefresh,
}

public enum KeyCreationReading
{
    AfterExchange,
    DuringConsent,
}

public enum ExistingKeyReading
{
    GateBlocks,
    ConsentRedirects,
}
