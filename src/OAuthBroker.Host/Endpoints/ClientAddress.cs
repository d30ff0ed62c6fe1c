using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// Which client a request counts against for the rate limit: an address the client cannot choose (see
/// <see cref="ClientAddressOptions"/>). A request without one is never put in a shared bucket, where one client could use
/// up everyone's allowance (callbacks included), nor in a fresh one per request: it is refused (see EdgePolicies).
/// </summary>
public static class ClientAddress
{
    /// <summary>
    /// IPv4 addresses as they are; IPv6 by /64, the smallest prefix a subscriber is normally given (RFC 6177 §2
    /// recommends /48–/64 per site), so rotating through one's own /64 buys no fresh buckets. Ports are dropped.
    /// </summary>
    public static ClientIdentification Identify(HttpContext http, ClientAddressSource source)
    {
        if (source.Header is null)
        {
            return new(http.Connection.RemoteIpAddress is { } peer ? Key(peer) : "unknown", null);
        }

        if (source.FrontDoorId is { } frontDoor
            && !(http.Request.Headers[ClientAddressOptions.FrontDoorIdHeader] is [var sent] && string.Equals(sent?.Trim(), frontDoor, StringComparison.OrdinalIgnoreCase)))
        {
            return new(null, UnidentifiedClient.NotFromFrontDoor);
        }

        var value = http.Request.Headers[source.Header].ToString();
        var nearest = value[(value.LastIndexOf(',') + 1)..].Trim();
        return TryParse(nearest, out var address) ? new(Key(address), null) : new(null, UnidentifiedClient.HeaderMissing);
    }

    /// <summary>
    /// Reads <c>ip</c>, <c>ip:port</c>, <c>[ipv6]</c>, <c>[ipv6]:port</c>, bare IPv6 and bare IPv6 followed by
    /// <c>:port</c> (the front end's IPv6 format is not documented). That last form is ambiguous when the address is
    /// compressed (<c>2001:db8::5:6:7:8</c> + <c>:443</c> also parses as an address, with every group after <c>::</c>
    /// shifted left, pulling interface-id bits into the /64). So a trailing decimal group that could be a port is dropped
    /// first whenever the rest is IPv6: read wrongly, a genuine bare address loses its last group, which only shifts the
    /// groups after <c>::</c> right — the /64 then holds fewer of the address's own prefix bits, never its interface id,
    /// so neither reading lets a client buy fresh buckets by changing port or interface id.
    /// </summary>
    public static bool TryParse(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.StartsWith('['))
        {
            var end = text.IndexOf(']');
            return end > 1 && IPAddress.TryParse(text[1..end], out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        }

        var colons = text.Count(c => c == ':');
        if (colons == 1)
        {
            text = text[..text.IndexOf(':')];
        }
        else if (colons > 2 && WithoutPort(text) is { } rest && IPAddress.TryParse(rest, out var withoutPort) && withoutPort.AddressFamily == AddressFamily.InterNetworkV6)
        {
            address = withoutPort;
            return true;
        }

        return text.Length > 0 && IPAddress.TryParse(text, out address!);
    }

    /// <summary>The text before a trailing <c>:port</c> (1–5 decimal digits, at most 65535), or null.</summary>
    private static string? WithoutPort(string text)
    {
        var colon = text.LastIndexOf(':');
        var port = text[(colon + 1)..];
        return port.Length is >= 1 and <= 5 && port.All(char.IsAsciiDigit) && int.Parse(port, CultureInfo.InvariantCulture) <= 65535 && text[colon - 1] != ':'
            ? text[..colon]
            : null;
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
