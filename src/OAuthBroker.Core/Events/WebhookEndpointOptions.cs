namespace OAuthBroker.Events;

/// <summary>One of the platform's webhook endpoints (section <c>Events:Endpoints:{name}</c>).</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>Required. The receiver's HTTPS URL. Redirects are not followed (a 3xx is a failed attempt).</summary>
    public string? Url { get; set; }

    /// <summary>
    /// Required. Name of the Key Vault secret holding the endpoint's signing secrets: one or more <c>whsec_</c> values
    /// separated by spaces, all of which sign every message (put the new one beside the old one to rotate).
    /// </summary>
    public string? SecretName { get; set; }

    /// <summary>Optional. Event types this endpoint receives; empty means all.</summary>
    public List<string> EventTypes { get; set; } = [];

    /// <summary>Optional. Providers whose events this endpoint receives; empty means all.</summary>
    public List<string> Providers { get; set; } = [];

    public bool Wants(LinkEvent e) =>
        (EventTypes.Count == 0 || EventTypes.Contains(e.Type, StringComparer.Ordinal)) &&
        (Providers.Count == 0 || Providers.Contains(e.ProviderId, StringComparer.OrdinalIgnoreCase));
}
