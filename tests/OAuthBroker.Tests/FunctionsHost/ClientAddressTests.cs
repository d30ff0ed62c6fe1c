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
    // Unbracketed IPv6 with the port appended (the front end's IPv6 format is undocumented): a 5-digit port made the
    // whole unreadable; a short one read as the last group of a compressed address, whose /64 then took interface-id bits.
    [InlineData("2001:db8:1:2:3:4:5:6:54321", "2001:db8:1:2::/64")]
    [InlineData("2001:db8::5:6:7:8:443", "2001:db8::/64")]
    [InlineData("2001:db8::5:6:7:8:50123", "2001:db8::/64")]
    [InlineData("2001:db8::443", "2001:db8::/64")]
    public void The_partition_is_the_address_the_nearest_front_end_wrote(string header, string partition)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["Client-IP"] = header;
        ClientAddress.Identify(http, new ClientAddressSource("Client-IP", null)).ShouldBe(new ClientIdentification(partition, null));
    }

    /// <summary>
    /// No readable address is no shared bucket: one client filling it would lock out everyone (callbacks included).
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not an address")]
    public void A_missing_or_unreadable_header_is_no_partition_at_all(string? header)
    {
        var http = new DefaultHttpContext();
        if (header is not null)
        {
            http.Request.Headers["Client-IP"] = header;
        }

        ClientAddress.Identify(http, new ClientAddressSource("Client-IP", null)).ShouldBe(new ClientIdentification(null, UnidentifiedClient.HeaderMissing));
    }

    [Fact]
    public void X_Azure_ClientIP_is_believed_only_with_the_configured_Front_Door_id()
    {
        var source = new ClientAddressSource("X-Azure-ClientIP", "0b1ddead-2f6e-4c1e-9b8a-5d3c2a1f0e9d");
        ClientIdentification From(params (string Name, string Value)[] headers)
        {
            var http = new DefaultHttpContext();
            foreach (var (name, value) in headers)
            {
                http.Request.Headers.Append(name, value);
            }

            return ClientAddress.Identify(http, source);
        }

        From(("X-Azure-ClientIP", "203.0.113.7"), ("X-Azure-FDID", "0b1ddead-2f6e-4c1e-9b8a-5d3c2a1f0e9d")).Partition.ShouldBe("203.0.113.7");
        From(("X-Azure-ClientIP", "203.0.113.7")).Failure.ShouldBe(UnidentifiedClient.NotFromFrontDoor);
        From(("X-Azure-ClientIP", "203.0.113.7"), ("X-Azure-FDID", "11111111-2f6e-4c1e-9b8a-5d3c2a1f0e9d")).Failure.ShouldBe(UnidentifiedClient.NotFromFrontDoor);
        From(("X-Azure-ClientIP", "203.0.113.7"), ("X-Azure-FDID", "0b1ddead-2f6e-4c1e-9b8a-5d3c2a1f0e9d"), ("X-Azure-FDID", "0b1ddead-2f6e-4c1e-9b8a-5d3c2a1f0e9d"))
            .Failure.ShouldBe(UnidentifiedClient.NotFromFrontDoor, "one id, as Front Door sends it");
    }

    [Fact]
    public void Standalone_the_partition_is_the_connections_peer_whatever_the_headers_say()
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.10");
        http.Request.Headers["X-Forwarded-For"] = "198.51.100.1";
        http.Request.Headers["Client-IP"] = "198.51.100.1";
        ClientAddress.Identify(http, new ClientAddressSource(null, null)).Partition.ShouldBe("192.0.2.10");
    }

    [Fact]
    public void The_header_is_the_platforms_under_the_host_and_configurable_for_Front_Door()
    {
        var none = new ConfigurationBuilder().Build();
        ClientAddressOptions.SourceFor(none, underFunctionsHost: true).Header.ShouldBe("Client-IP");
        ClientAddressOptions.SourceFor(none, underFunctionsHost: false).Header.ShouldBeNull();
        var frontDoor = new ConfigurationBuilder()
            .AddInMemoryCollection([new("RateLimit:ClientAddressHeader", "X-Azure-ClientIP"), new("RateLimit:FrontDoorId", "0b1ddead-2f6e-4c1e-9b8a-5d3c2a1f0e9d")]).Build();
        ClientAddressOptions.SourceFor(frontDoor, underFunctionsHost: true).ShouldBe(new ClientAddressSource("X-Azure-ClientIP", "0b1ddead-2f6e-4c1e-9b8a-5d3c2a1f0e9d"));
    }
}
