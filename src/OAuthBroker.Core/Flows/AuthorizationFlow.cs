namespace OAuthBroker.Flows;

/// <summary>
/// One started authorization. It is stored nowhere on the broker: authorize seals it into an HttpOnly cookie of the
/// browser that started it (<see cref="SealedFlows"/>), and the callback opens it from there, once
/// (<see cref="IUsedStateStore"/>). The state itself is never stored, only its fingerprint in the single-use marker.
/// </summary>
public sealed record AuthorizationFlow
{
    /// <summary>SHA-256 fingerprint of the state parameter: the flow's key, bound into the seal, not inside it.</summary>
    public required string StateFingerprint { get; init; }
    public required string UserId { get; init; }
    public required string ProviderId { get; init; }
    public required Uri ReturnUrl { get; init; }
    /// <summary>The exact redirect URI of the authorize leg; the token request repeats it (RFC 6749 §4.1.3).</summary>
    public required Uri RedirectUri { get; init; }
    /// <summary>Fingerprint of the browser-binding cookie of the browser that started the flow.</summary>
    public required string BrowserFingerprint { get; init; }
    /// <summary>PKCE verifier, only for providers that take a challenge. Useless without the code.</summary>
    public string? CodeVerifier { get; init; }
    /// <summary>OpenID Connect nonce sent on the authorize leg; an ID token must carry it back.</summary>
    public required string Nonce { get; init; }
    /// <summary>
    /// S256 challenge of the frontend's completion verifier (start tickets of single-page apps): when present, the
    /// completion step needs the verifier instead of the browser cookie, which a cross-site frontend cannot send.
    /// </summary>
    public string? CompletionChallenge { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }

    public override string ToString() => $"AuthorizationFlow {{ ProviderId = {ProviderId}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>A started flow: where to send the browser, and the cookie (id, sealed value, expiry) that carries the flow.</summary>
public sealed record StartedFlow(Uri AuthorizationUrl, string CookieId, string SealedFlow, DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"StartedFlow {{ CookieId = {CookieId}, ExpiresAt = {ExpiresAt:O} }}";
}
