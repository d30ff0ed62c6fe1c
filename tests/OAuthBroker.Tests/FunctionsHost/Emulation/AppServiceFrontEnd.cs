using Microsoft.AspNetCore.Http;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>What App Service's front end does with forwarding headers a client sent itself.</summary>
public enum ClientForwardingHeaders
{
    /// <summary>The front end writes <c>X-Forwarded-Proto</c> and <c>DISGUISED-HOST</c> itself, replacing the client's.</summary>
    Overwritten,

    /// <summary>A client's own <c>X-Forwarded-Proto</c> and <c>DISGUISED-HOST</c> reach the host (the worst reading).</summary>
    PassedThrough,
}

/// <summary>
/// What App Service's front end does to a request's headers before the host sees it:
/// <list type="bullet">
/// <item><c>Client-IP</c> is the peer as <c>ip:port</c>, overwriting whatever the client sent: "The client-ip header is added
/// on the Front End role as part of routing. App Service will overwrite any existing header so they cannot be spoofed"
/// (Azure/app-service-linux-docs <c>Things_You_Should_Know/headers.md</c>);</item>
/// <item><c>X-Client-IP</c> is the peer's address alone, and <c>X-Forwarded-For</c> gets the peer appended as
/// <c>ip:port</c> after whatever the client sent: a captured App Service request (sergiodxa/remix-utils #496:
/// <c>client-ip: 172.16.0.10:49828</c>, <c>x-client-ip: 172.16.0.10</c>, <c>x-forwarded-for: 10.0.0.5, 192.168.1.20,
/// 172.16.0.10:49828</c>) and azure-webjobs-sdk <c>ApplicationInsightsLogger.cs:684-695</c> ("For Web sites in Azure
/// header contains ip address with port");</item>
/// <item><c>X-Forwarded-Proto</c> (the scheme the client used; TLS ends at the front end) and <c>DISGUISED-HOST</c> (the
/// host name the client called), which the host's <see cref="AppServiceHeaderFixup"/> reads. Whether the front end
/// overwrites a client's own values or lets them through is in no source available here (UNCONFIRMED): switch
/// <see cref="ForwardingHeaders"/>, and the route-confusion tests run both readings.</item>
/// </list>
/// UNCONFIRMED on Flex Consumption: no Microsoft source says its front end sets the same headers; check one deployed app
/// (docs/functions-host.md says how). IPv6 peers are written bracketed, <c>[addr]:port</c> (UNCONFIRMED;
/// <see cref="OAuthBroker.Host.Endpoints.ClientAddress"/> also reads them unbracketed).
/// </summary>
public sealed class AppServiceFrontEnd
{
    public ClientForwardingHeaders ForwardingHeaders { get; set; } = ClientForwardingHeaders.PassedThrough;

    public void Apply(HttpContext context)
    {
        var peer = context.Connection.RemoteIpAddress!;
        var address = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
        var withPort = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{address}]:{context.Connection.RemotePort}"
            : $"{address}:{context.Connection.RemotePort}";
        var headers = context.Request.Headers;
        headers["Client-IP"] = withPort;
        headers["X-Client-IP"] = address.ToString();
        headers["X-Forwarded-For"] = headers["X-Forwarded-For"].ToString() is { Length: > 0 } sent ? sent + ", " + withPort : withPort;

        var passedThrough = ForwardingHeaders == ClientForwardingHeaders.PassedThrough;
        if (!passedThrough || !headers.ContainsKey("X-Forwarded-Proto"))
        {
            headers["X-Forwarded-Proto"] = context.Request.Scheme;
        }

        if (!passedThrough || !headers.ContainsKey("DISGUISED-HOST"))
        {
            headers["DISGUISED-HOST"] = context.Request.Host.Value;
        }
    }
}
