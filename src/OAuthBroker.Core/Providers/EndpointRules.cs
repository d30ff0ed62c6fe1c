namespace OAuthBroker.Providers;

/// <summary>Which provider endpoint URLs the broker accepts from configuration.</summary>
public static class EndpointRules
{
    /// <summary>
    /// HTTPS everywhere (RFC 9700 §2.6: authorization responses never over plain http), except loopback
    /// addresses, which is where the sandbox provider and local tools run.
    /// </summary>
    public static bool IsAcceptableEndpoint(string? value, out Uri? uri)
    {
        uri = null;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || !string.IsNullOrEmpty(parsed.UserInfo) || !string.IsNullOrEmpty(parsed.Fragment))
        {
            return false;
        }

        var acceptable = parsed.Scheme == Uri.UriSchemeHttps || (parsed.Scheme == Uri.UriSchemeHttp && parsed.IsLoopback);
        uri = acceptable ? parsed : null;
        return acceptable;
    }
}
