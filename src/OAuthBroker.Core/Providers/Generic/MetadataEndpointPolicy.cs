namespace OAuthBroker.Providers.Generic;

/// <summary>
/// Which endpoints a provider's metadata may name. The broker sends its client secret to the token and revocation
/// endpoints, users' access tokens to userinfo and users' browsers to the authorization endpoint, so a metadata
/// document (fetched over the network, possibly tampered with) may not point them anywhere: HTTPS (RFC 8414 §2 and
/// OpenID Connect Discovery §3 require https URLs), on the issuer's host, a host of an endpoint configured by hand,
/// or a host listed in <see cref="GenericOAuthOptions.AllowedEndpointHosts"/>. Plain http is accepted only on loopback
/// and only when the configured issuer (or metadata URL) is itself loopback — a local identity provider; an https
/// issuer whose metadata points at <c>http://127.0.0.1:…</c> is an SSRF attempt on the broker's own host.
/// </summary>
public sealed class MetadataEndpointPolicy
{
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly bool _localIssuer;

    public MetadataEndpointPolicy(GenericOAuthOptions options)
    {
        var origin = options.Issuer ?? options.DiscoveryUrl;
        if (origin is not null && Uri.TryCreate(origin, UriKind.Absolute, out var issuer))
        {
            _hosts.Add(issuer.IdnHost);
            _localIssuer = issuer.IsLoopback;
        }

        foreach (var configured in new[] { options.AuthorizationEndpoint, options.TokenEndpoint, options.RevocationEndpoint, options.UserinfoEndpoint })
        {
            if (configured is not null && Uri.TryCreate(configured, UriKind.Absolute, out var endpoint))
            {
                _hosts.Add(endpoint.IdnHost);
            }
        }

        _hosts.UnionWith(options.AllowedEndpointHosts);
    }

    /// <summary>Null when acceptable; otherwise why not (safe to log: a scheme and a host, no secret).</summary>
    public string? Refusal(Uri endpoint)
    {
        if (endpoint.Scheme == Uri.UriSchemeHttp)
        {
            return endpoint.IsLoopback && _localIssuer ? null : $"http on {endpoint.IdnHost} (only https, or loopback http for a loopback issuer)";
        }

        if (endpoint.Scheme != Uri.UriSchemeHttps)
        {
            return $"scheme {endpoint.Scheme}";
        }

        return _hosts.Contains(endpoint.IdnHost) ? null : $"host {endpoint.IdnHost} is neither the issuer's nor in AllowedEndpointHosts";
    }
}
