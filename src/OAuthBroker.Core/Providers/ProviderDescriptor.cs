namespace OAuthBroker.Providers;

/// <summary>What a provider is and can do; safe to show to anyone (no endpoints with secrets, no client ids).</summary>
public sealed record ProviderDescriptor(string Id, string DisplayName, ProviderCapabilities Capabilities)
{
    /// <summary>How long before expiry this provider's tokens are refreshed; null for the broker's default.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan? RefreshMargin { get; init; }

    /// <summary>
    /// A callback with neither <c>code</c> nor <c>error</c> means the user cancelled, not a malformed redirect. Bybit's
    /// help centre ("How to Integrate With the OAuth System as a Broker", phase 3): "If you cancel the verification
    /// process, the redirection will still occur" — and Bybit documents no error parameter for it. The callback
    /// handler reports such a callback as <c>access_denied</c> instead of <c>invalid_callback</c>.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool CodelessCallbackMeansDenied { get; init; }
}

/// <param name="Pkce">The broker sends an S256 code challenge to this provider.</param>
/// <param name="RefreshTokens">The provider issues refresh tokens, so links are kept fresh without the user.</param>
/// <param name="Revocation">The provider documents a way to revoke what it issued; used on unlink.</param>
/// <param name="ApiKeys">The provider hands out an API key and secret (exchanges), vaulted with the tokens.</param>
public sealed record ProviderCapabilities(bool Pkce, bool RefreshTokens, bool Revocation, bool ApiKeys);
