using Microsoft.AspNetCore.Http;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// What App Service's front end does to a request's client-address headers before the host sees it:
/// <list type="bullet">
/// <item><c>Client-IP</c> is the peer as <c>ip:port</c>, overwriting whatever the client sent: "The client-ip header is added
/// on the Front End role as part of routing. App Service will overwrite any existing header so they cannot be spoofed"
/// (Azure/app-service-linux-docs <c>Things_You_Should_Know/headers.md</c>);</item>
/// <item><c>X-Client-IP</c> is the peer's address alone, and <c>X-Forwarded-For</c> gets the peer appended as
/// <c>ip:port</c> after whatever the client sent: a captured App Service request (sergiodxa/remix-utils #496:
/// <c>client-ip: 172.16.0.10:49828</c>, <c>x-client-ip: 172.16.0.10</c>, <c>x-forwarded-for: 10.0.0.5, 192.168.1.20,
/// 172.16.0.10:49828</c>) and azure-webjobs-sdk <c>ApplicationInsightsLogger.cs:684-695</c> ("For Web sites in Azure
/// header contains ip address with port").</item>
/// </list>
/// UNCONFIRMED on Flex Consumption: no Microsoft source says its front end sets the same headers; check one deployed app
/// (docs/functions-host.md says how). IPv6 peers are written bracketed, <c>[addr]:port</c> (UNCONFIRMED).
/// </summary>
public static class AppServiceFrontEnd
{
    public static void Apply(HttpContext context)
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
    }
}
