using System.Text.Json;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.Generic;

/// <summary>The authorization server metadata the broker uses (OpenID Connect Discovery 1.0 / RFC 8414).</summary>
public sealed record ServerMetadata(
    string? Issuer,
    Uri AuthorizationEndpoint,
    Uri TokenEndpoint,
    Uri? RevocationEndpoint,
    Uri? UserinfoEndpoint,
    bool IssParameterSupported)
{
    /// <summary>
    /// Reads a metadata document. Every endpoint it names must pass <paramref name="policy"/>: one that does not makes
    /// the whole document unusable (dropping, say, the revocation endpoint would make unlink erase a live grant).
    /// </summary>
    /// <returns>The metadata, or why it is refused (a field name and a host; nothing secret).</returns>
    public static (ServerMetadata? Metadata, string? Refusal) Read(JsonElement document, MetadataEndpointPolicy policy)
    {
        string? refusal = null;
        Uri? Endpoint(string name)
        {
            if (document.StringProperty(name) is not { } value)
            {
                return null;
            }

            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment))
            {
                refusal ??= $"{name} is not an absolute URL";
                return null;
            }

            if (policy.Refusal(uri) is { } why)
            {
                refusal ??= $"{name}: {why}";
                return null;
            }

            return uri;
        }

        var authorization = Endpoint("authorization_endpoint");
        var token = Endpoint("token_endpoint");
        var revocation = Endpoint("revocation_endpoint");
        var userinfo = Endpoint("userinfo_endpoint");
        if (refusal is not null)
        {
            return (null, refusal);
        }

        if (authorization is null || token is null)
        {
            return (null, "authorization_endpoint or token_endpoint is missing");
        }

        var issSupported = document.ValueKind == JsonValueKind.Object
            && document.TryGetProperty("authorization_response_iss_parameter_supported", out var flag)
            && flag.ValueKind == JsonValueKind.True;
        return (new ServerMetadata(document.StringProperty("issuer"), authorization, token, revocation, userinfo, issSupported), null);
    }
}
