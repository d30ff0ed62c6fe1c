using System.Globalization;
using System.Net;
using OAuthBroker.Host;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Security;

/// <summary>
/// The development identity (anyone is anyone) is active only when switched on, in Development, on a developer's
/// machine: never under the Functions host, never in Azure, never on a public origin, whatever ASPNETCORE_ENVIRONMENT
/// says (security review F6). Switched on anywhere else, the broker refuses to start; not switched on, the header is
/// ignored.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class DevelopmentIdentityTests(BrokerEnvironmentFixture fixture)
{
    /// <summary>Another broker on the fixture's storage, vault and providers, with the fixture's settings plus <paramref name="extra"/> (last wins).</summary>
    private Microsoft.AspNetCore.Builder.WebApplication Instance(int port, params string[] extra) =>
        BrokerApp.Create([.. fixture.Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal)), $"--urls=http://127.0.0.1:{port}", .. extra]);

    [Theory]
    [InlineData("--FUNCTIONS_CUSTOMHANDLER_PORT={port}", "the Functions host started the process")]
    [InlineData("--WEBSITE_SITE_NAME=func-broker", "the process runs in Azure")]
    [InlineData("--WEBSITE_INSTANCE_ID=2b7c0ffee", "the process runs in Azure")]
    [InlineData("--Broker:PublicBaseUrl=https://broker.example.com", "Broker:PublicBaseUrl is not a loopback address")]
    [InlineData("--environment=Production", "the environment is not Development")]
    public async Task Switched_on_anywhere_but_a_developers_machine_the_broker_refuses_to_start(string surrounding, string reason)
    {
        var port = FreePort.Next();
        await using var app = Instance(port, surrounding.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal),
            "--Authentication:DevelopmentIdentity=true");

        var failure = await Should.ThrowAsync<Exception>(() => app.StartAsync());
        failure.ToString().ShouldContain($"Authentication:DevelopmentIdentity is on, but {reason}");
    }

    [Fact]
    public async Task Not_switched_on_the_header_and_cookie_are_anyones_and_ignored_even_in_Development()
    {
        var port = FreePort.Next();
        await using var app = Instance(port, "--Authentication:DevelopmentIdentity=false");
        await app.StartAsync();
        try
        {
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/api/links");
            request.Headers.Add("X-Dev-User", "alice");
            request.Headers.Add("Cookie", "dev_user=alice");
            (await http.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
