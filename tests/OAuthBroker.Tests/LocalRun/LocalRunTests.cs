using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.LocalRun;

/// <summary>
/// The local run's knobs: ports, data folder and public host from the command line (a second environment beside the
/// first), extra broker and sandbox settings (another provider), and the other loopback name sent to the public one.
/// The test environments themselves are the proof that two run side by side: each fixture is a whole environment on free ports.
/// </summary>
public sealed class LocalRunTests
{
    [Fact]
    public void Ports_public_host_data_folder_and_extra_settings_come_from_the_command_line()
    {
        var settings = LocalEnvironmentSettings.FromArguments([
            "--BrokerPort=7171", "--SandboxPort=7181", "--KeyVaultPort=7543", "--AzuritePort=10102", "--PublicHost=127.0.0.1", "--DataDirectory=.local-2",
            "--EventsReceiverPort=7544", "--EventsReceiver=false",
            "--Providers:initech:Dialect=oauth2", "--Providers:initech:Issuer=http://127.0.0.1:7181/oidc/gamma",
            "--Sandbox:Oidc:Tenants:gamma:Clients:0:ClientId=initech-client"]);

        (settings.BrokerPort, settings.SandboxPort, settings.KeyVaultPort, settings.AzuritePort).ShouldBe((7171, 7181, 7543, 10102));
        settings.PublicHost.ShouldBe("127.0.0.1");
        settings.DataDirectory.ShouldBe(".local-2");
        settings.BrokerSettings["Providers:initech:Dialect"].ShouldBe("oauth2");
        settings.BrokerSettings["Providers:initech:Issuer"].ShouldBe("http://127.0.0.1:7181/oidc/gamma");
        settings.SandboxSettings["Sandbox:Oidc:Tenants:gamma:Clients:0:ClientId"].ShouldBe("initech-client");
        settings.BrokerSettings.ShouldNotContainKey("BrokerPort");
        (settings.EventsReceiverPort, settings.EventsReceiver).ShouldBe((7544, false));
        settings.BrokerSettings.ShouldNotContainKey("EventsReceiver");

        var defaults = LocalEnvironmentSettings.FromArguments([]);
        (defaults.BrokerPort, defaults.SandboxPort, defaults.KeyVaultPort, defaults.AzuritePort, defaults.PublicHost).ShouldBe((7071, 7080, 7443, 10002, "localhost"));
        (defaults.EventsReceiverPort, defaults.EventsReceiver).ShouldBe((7444, true));
        Should.Throw<ArgumentException>(() => LocalEnvironmentSettings.FromArguments(["--PublicHost=broker.example.com"]));
    }

    [Fact]
    public async Task A_page_opened_on_the_other_loopback_name_is_sent_to_the_public_one()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddSingleton<IStartupFilter>(new LoopbackHostRedirect(new Uri($"http://localhost:{port}/")));
        await using var app = builder.Build();
        app.Run(context => context.Response.WriteAsync("served"));
        await app.StartAsync();

        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var demo = await http.GetAsync($"http://127.0.0.1:{port}/demo/index.html?x=1");
        demo.StatusCode.ShouldBe(HttpStatusCode.TemporaryRedirect);
        demo.Headers.Location!.AbsoluteUri.ShouldBe($"http://localhost:{port}/demo/index.html?x=1");

        using var api = await http.GetAsync($"http://127.0.0.1:{port}/api/health");
        (await api.Content.ReadAsStringAsync()).ShouldBe("served", "the API answers on either name");
        using var publicName = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/demo/");
        publicName.Headers.Host = $"localhost:{port}";
        (await (await http.SendAsync(publicName)).Content.ReadAsStringAsync()).ShouldBe("served");
    }
}
