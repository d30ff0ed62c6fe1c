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
    /// <summary>Reads a metadata document; null when a required endpoint is missing or not acceptable.</summary>
    public static ServerMetadata? Read(JsonElement document)
    {
        Uri? Endpoint(string name) =>
            EndpointRules.IsAcceptableEndpoint(document.StringProperty(name), out var uri) ? uri : null;

        var authorization = Endpoint("authorization_endpoint");
        var token = Endpoint("token_endpoint");
        if (authorization is null || token is null)
        {
            return null;
        }

        var issSupported = document.ValueKind == JsonValueKind.Object
            && document.TryGetProperty("authorization_response_iss_parameter_supported", out var flag)
            && flag.ValueKind == JsonValueKind.True;
        return new ServerMetadata(document.StringProperty("issuer"), authorization, token, Endpoint("revocation_endpoint"), Endpoint("userinfo_endpoint"), issSupported);
    }
}
