using System.Net;
using System.Net.Sockets;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// Which client a request counts against for the rate limit: an address the client cannot choose. Standalone that is
/// the connection's peer; behind a front end it is the header that front end <b>overwrites</b> (section
/// <c>RateLimit:ClientAddressHeader</c>). Azure App Service: "The client-ip header is added on the Front End role
/// … App Service will overwrite any existing header so they cannot be spoofed" (Azure/app-service-linux-docs
/// <c>Things_You_Should_Know/headers.md</c>), with the peer as <c>ip:port</c> (azure-webjobs-sdk
/// <c>ApplicationInsightsLogger.cs:684-695</c>: "For Web sites in Azure header contains ip address with port"). Behind
/// Azure Front Door, <c>X-Azure-ClientIP</c> (only with the app restricted to that Front Door by <c>X-Azure-FDID</c>).
/// X-Forwarded-For's left-most entry is whatever the client wrote; only the entry the nearest proxy appended (the
/// right-most) is that proxy's word, so a listed header is read right-most too.
/// </summary>
public sealed class ClientAddressOptions
{
    public const string SectionName = "RateLimit";

    /// <summary>The platform's own header under the Functions host (App Service front end).</summary>
    public const string AppServiceHeader = "Client-IP";

    /// <summary>
    /// Header holding the client's address, written by a front end that overwrites what the client sent. Default:
    /// <see cref="AppServiceHeader"/> under the Functions host, none standalone (the connection's peer). Set it to
    /// <c>X-Azure-ClientIP</c> behind Front Door, or to an empty string to use the connection's peer.
    /// </summary>
    public string? ClientAddressHeader { get; set; }

    public static string? HeaderFor(IConfiguration configuration, bool underFunctionsHost) =>
        configuration.GetSection(SectionName)[nameof(ClientAddressHeader)] switch
        {
            null => underFunctionsHost ? AppServiceHeader : null,
            "" => null,
            var header => header,
        };
}

public static class ClientAddress
{
    /// <summary>
    /// The rate-limit partition: IPv4 addresses as they are; IPv6 by /64, the smallest prefix a subscriber is normally
    /// given (RFC 6177 §2 recommends /48–/64 per site), so rotating through one's own /64 buys no fresh buckets. Ports are
    /// dropped. A configured header that is missing or unreadable puts the request in one shared bucket, never in a fresh one.
    /// </summary>
    public static string Partition(HttpContext http, string? header)
    {
        if (header is null)
        {
            return http.Connection.RemoteIpAddress is { } peer ? Key(peer) : "unknown";
        }

        var value = http.Request.Headers[header].ToString();
        var nearest = value[(value.LastIndexOf(',') + 1)..].Trim();
        return TryParse(nearest, out var address) ? Key(address) : "unidentified";
    }

    /// <summary>Reads <c>ip</c>, <c>ip:port</c>, <c>[ipv6]</c>, <c>[ipv6]:port</c> and bare IPv6.</summary>
    public static bool TryParse(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.StartsWith('['))
        {
            var end = text.IndexOf(']');
            return end > 1 && IPAddress.TryParse(text[1..end], out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        }

        if (text.Count(c => c == ':') == 1)
        {
            text = text[..text.IndexOf(':')];
        }

        return text.Length > 0 && IPAddress.TryParse(text, out address!);
    }

    private static string Key(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
