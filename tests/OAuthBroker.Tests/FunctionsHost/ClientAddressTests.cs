using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using OAuthBroker.Host.Endpoints;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>The rate limit's client key: from the front end's header, right-most entry, port dropped, IPv6 by /64.</summary>
public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("203.0.113.7:50123", "203.0.113.7")]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("198.51.100.1, 10.0.0.5, 203.0.113.7:50123", "203.0.113.7")]
    [InlineData("not an address", "unidentified")]
    [InlineData("", "unidentified")]
    public void The_partition_is_the_address_the_nearest_front_end_wrote(string header, string partition)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["Client-IP"] = header;
        ClientAddress.Partition(http, "Client-IP").ShouldBe(partition);
    }

    [Fact]
    public void Standalone_the_partition_is_the_connections_peer_whatever_the_headers_say()
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.10");
        http.Request.Headers["X-Forwarded-For"] = "198.51.100.1";
        http.Request.Headers["Client-IP"] = "198.51.100.1";
        ClientAddress.Partition(http, header: null).ShouldBe("192.0.2.10");
    }

    [Fact]
    public void The_header_is_the_platforms_under_the_host_and_configurable_for_Front_Door()
    {
        var none = new ConfigurationBuilder().Build();
        ClientAddressOptions.HeaderFor(none, underFunctionsHost: true).ShouldBe("Client-IP");
        ClientAddressOptions.HeaderFor(none, underFunctionsHost: false).ShouldBeNull();
        var frontDoor = new ConfigurationBuilder()
            .AddInMemoryCollection([new("RateLimit:ClientAddressHeader", "X-Azure-ClientIP")]).Build();
        ClientAddressOptions.HeaderFor(frontDoor, underFunctionsHost: true).ShouldBe("X-Azure-ClientIP");
    }
}
