namespace OAuthBroker.Providers.Generic;

/// <summary>The two well-known metadata locations and the issuer each one implies.</summary>
public static class WellKnown
{
    public const string OpenIdConfiguration = "/.well-known/openid-configuration";
    public const string OAuthAuthorizationServer = "/.well-known/oauth-authorization-server";

    /// <summary>OpenID Connect Discovery §4: <c>{issuer without trailing /}/.well-known/openid-configuration</c>.</summary>
    public static Uri OpenIdConfigurationOf(Uri issuer) => new(issuer.GetLeftPart(UriPartial.Path).TrimEnd('/') + OpenIdConfiguration);

    /// <summary>RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.</summary>
    public static Uri OAuthAuthorizationServerOf(Uri issuer) =>
        new(issuer.GetLeftPart(UriPartial.Authority) + OAuthAuthorizationServer + issuer.AbsolutePath.TrimEnd('/'));

    /// <summary>The issuer a well-known metadata URL belongs to; null for any other URL (then it names no issuer).</summary>
    public static string? IssuerOf(string metadataUrl)
    {
        if (!Uri.TryCreate(metadataUrl, UriKind.Absolute, out var url) || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            return null;
        }

        var authority = url.GetLeftPart(UriPartial.Authority);
        var path = url.AbsolutePath;
        if (path.EndsWith(OpenIdConfiguration, StringComparison.Ordinal))
        {
            return authority + path[..^OpenIdConfiguration.Length];
        }

        return path.StartsWith(OAuthAuthorizationServer, StringComparison.Ordinal)
            ? authority + path[OAuthAuthorizationServer.Length..]
            : null;
    }
}
