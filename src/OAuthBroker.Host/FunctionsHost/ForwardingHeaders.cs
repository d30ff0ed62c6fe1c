using System.Text.RegularExpressions;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// The two headers the host's <c>AppServiceHeaderFixupMiddleware</c> turns into the request's scheme and Host
/// (azure-functions-host <c>Middleware/AppServiceHeaderFixupMiddleware.cs:25-37</c>), which then become part of the URL
/// the host forwards. Values that are a plain scheme and a plain host cannot change the forwarded path; any other could.
/// </summary>
public static partial class ForwardingHeaders
{
    public const string ForwardedProto = "X-Forwarded-Proto";
    public const string DisguisedHost = "DISGUISED-HOST";

    /// <summary>The header whose value could have rewritten the forwarded path; null when neither could.</summary>
    public static string? CouldRewriteThePath(HttpRequest request)
    {
        // The host takes the first value whole; after copying, repeated values may arrive comma-joined: check every element.
        if (request.Headers.TryGetValue(ForwardedProto, out var schemes)
            && !schemes.SelectMany(v => (v ?? "").Split(',')).All(s => s.Trim() is { } scheme
                && (scheme.Equals("http", StringComparison.OrdinalIgnoreCase) || scheme.Equals("https", StringComparison.OrdinalIgnoreCase))))
        {
            return ForwardedProto;
        }

        if (request.Headers.TryGetValue(DisguisedHost, out var hosts) && !hosts.All(h => h is not null && HostAndPort().IsMatch(h)))
        {
            return DisguisedHost;
        }

        return null;
    }

    /// <summary>A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port (RFC 9110 §7.2 <c>Host</c>).</summary>
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostAndPort();
}
