namespace OAuthBroker.Sandbox;

/// <summary>
/// How the Bybit sandbox behaves. Sources: the API Broker guidance (bybit-exchange/docs docs/v5/broker/api-broker/guidance),
/// the help centre article "How to Integrate With the OAuth System as a Broker on Bybit" (phases 1–5), and Bybit's own
/// OAuth client (bybit-exchange/skills modules/oauth.js and modules/oauth.md).
/// </summary>
public sealed class BybitSandboxOptions
{
    public List<SandboxClient> Clients { get; set; } = [];

    /// <summary>24 h, as the guidance documents.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>30 days, as the guidance documents.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>10 minutes (modules/oauth.md).</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The guidance says 301, the help centre (phase 3) 302; both are served (default 301).</summary>
    public int CallbackStatus { get; set; } = 301;

    /// <summary>
    /// The callback's parameters. <c>Guidance</c> (default): the guidance's example,
    /// <c>?response_type=code&amp;code=…&amp;scope=openapi&amp;state=…</c>. <c>HelpCentre</c>: phase 3, "Required Parameters:
    /// client_id ... code" (and the state, "the same value will be returned", phase 2).
    /// </summary>
    public BybitCallbackReading CallbackParameters { get; set; } = BybitCallbackReading.Guidance;

    /// <summary>
    /// Cancel on the consent page. The help centre contradicts itself: phase 2, "Failure or Cancellation: The pop-up
    /// remains on the Bybit page" (<c>false</c>, default); phase 3, "If you cancel the verification process, the
    /// redirection will still occur" (<c>true</c>: a redirect with the state and no code; no error parameter is documented).
    /// </summary>
    public bool CancelRedirects { get; set; }

    /// <summary>
    /// The token answer's shape. <c>Flat</c> (default): the guidance's example. <c>Wrapped</c>: inside
    /// <c>{"retCode":0,"retMsg":"success","result":{…}}</c>, which Bybit's own client reads too (modules/oauth.js,
    /// <c>tokenResp.result || tokenResp</c>; modules/oauth.md, <c>resp.result||resp</c>).
    /// </summary>
    public BybitTokenShape TokenResponseShape { get; set; } = BybitTokenShape.Flat;

    /// <summary>
    /// Refuse token calls whose User-Agent is not a browser's. The guidance's example sends a desktop-Chrome agent (an
    /// earlier revision commented "use browser agent"); Bybit's own client sends <c>bybit-skill-oauth/1.0</c>. Whether
    /// Bybit enforces it is undocumented; <c>true</c> (default) answers like a front-end firewall: 403 with an HTML body.
    /// </summary>
    public bool RequireBrowserUserAgent { get; set; } = true;

    /// <summary>Whether refresh needs client_secret (documented only for the public client, which sends none): Optional, Required or Forbidden.</summary>
    public SecretOnRefresh RefreshClientSecret { get; set; } = SecretOnRefresh.Optional;

    /// <summary>
    /// uid_bearer's answer (help centre phase 5 names only ret_code and ret_msg). <c>TopLevel</c> (default): <c>uid</c>, the
    /// only field evidence (third-party code). <c>Envelope</c>: <c>result.uid</c>, like the openapi call's envelope.
    /// </summary>
    public UidShape UidResponseShape { get; set; } = UidShape.TopLevel;

    /// <summary>Leave the GrantMemberID claim out of tokens (it is seen only in the guidance's sample token, not documented).</summary>
    public bool OmitUidClaim { get; set; }

    /// <summary>
    /// Where an account without 2FA is refused with 20039. <c>OpenApi</c> (default): on the resource call, as Bybit's own
    /// client meets it (modules/oauth.js: <c>aiRetCode === 20039</c> is terminal, read as <c>retCode ?? ret_code</c>).
    /// <c>TokenEndpoint</c>: on the exchange.
    /// </summary>
    public No2FaAt No2FaRefusedAt { get; set; } = No2FaAt.OpenApi;

    /// <summary>
    /// HTTP status of error answers, which no Bybit text documents (the JSON code carries the meaning). <c>200</c> (default)
    /// or e.g. <c>400</c>.
    /// </summary>
    public int ErrorHttpStatus { get; set; } = 200;

    /// <summary>
    /// Whether presenting a rotated-away refresh token kills the grant. Undocumented by Bybit (its client overwrites the
    /// stored refresh token, modules/oauth.md). <c>true</c> (default): RFC 9700 §4.14.2's replay detection; <c>false</c>:
    /// only that token is refused (10004).
    /// </summary>
    public bool ReusedRefreshTokenRevokesGrant { get; set; } = true;
}

public enum BybitCallbackReading
{
    Guidance,
    HelpCentre,
}

public enum BybitTokenShape
{
    Flat,
    Wrapped,
}

public enum No2FaAt
{
    OpenApi,
    TokenEndpoint,
}

public enum SecretOnRefresh
{
    Optional,
    Required,
    Forbidden,
}

public enum UidShape
{
    Envelope,
    TopLevel,
}
