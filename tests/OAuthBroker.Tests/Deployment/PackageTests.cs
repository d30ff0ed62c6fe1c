using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Text.Json;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// The package infra/package.sh builds is what the Functions host expects: host.json at the root pointing at an
/// executable that is in the zip with its executable bit and that starts (self-contained, no dotnet on PATH needed)
/// and serves every function's route; the timer's schedule is a setting.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class PackageTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task The_package_is_a_script_root_whose_handler_starts_and_serves_every_route()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // The package targets Linux (Flex Consumption); the script is a Linux build.
        }

        var output = Path.Combine(Path.GetTempPath(), "oauth-broker-package-" + Guid.NewGuid().ToString("N"));
        var script = Process.Start(new ProcessStartInfo("bash", [Path.Combine(RepositoryRoot.Find(), "infra", "package.sh"), output])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var stdout = await script.StandardOutput.ReadToEndAsync(timeout.Token);
        await script.WaitForExitAsync(timeout.Token);
        script.ExitCode.ShouldBe(0, await script.StandardError.ReadToEndAsync());

        var zipPath = stdout.Trim().Split('\n').Last();
        using var zip = ZipFile.OpenRead(zipPath);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        var host = JsonDocument.Parse(await new StreamReader(zip.GetEntry("host.json")!.Open()).ReadToEndAsync()).RootElement;
        var executable = host.GetProperty("customHandler").GetProperty("description").GetProperty("defaultExecutablePath").GetString()!;
        var entry = zip.GetEntry(executable).ShouldNotBeNull();
        ((entry.ExternalAttributes >> 16) & 0b001_001_001).ShouldNotBe(0, "the executable bit survives zipping");
        foreach (var function in new[] { "Health", "Providers", "Authorize", "Callback", "Links", "Unlink", "Credential", "RefreshLink", "RefreshTokens", "Start" })
        {
            names.ShouldContain($"{function}/function.json");
        }

        names.ShouldNotContain(n => n.EndsWith(".pdb", StringComparison.Ordinal));
        names.ShouldContain("libhostfxr.so", "self-contained: the worker needs no .NET runtime");

        // Unzip as the host would and start the handler with what the host passes it.
        var root = Path.Combine(output, "unzipped");
        zip.ExtractToDirectory(root);
        File.SetUnixFileMode(Path.Combine(root, executable), (UnixFileMode)((entry.ExternalAttributes >> 16) & 0x1FF));
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin",
            ["DOTNET_ROOT"] = "/nonexistent",
            ["Broker__PublicBaseUrl"] = "https://broker.example.com",
            ["Storage__ConnectionString"] = fixture.Environment.Azurite.ConnectionString,
            ["Storage__LinksTable"] = "PackageLinks",
            ["Storage__FlowsTable"] = "PackageFlows",
            ["Storage__ScheduleTable"] = "PackageSchedule",
            // Production: the local vault endpoint's token and certificate are refused there, and nothing here reads the vault.
            ["KeyVault__VaultUri"] = fixture.Environment.KeyVault.VaultUri.AbsoluteUri,
            ["Sealing__Keys__k1"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        };
        try
        {
            await using var handler = await HandlerProcess.StartAsync(Path.Combine(root, executable), environment, functionsHostPort: true);
            var port = handler.Port;
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            // The client address App Service's front end writes (the rate limit refuses requests without one under the host).
            http.DefaultRequestHeaders.Add("Client-IP", "203.0.113.7:50123");
            (await http.GetAsync("/api/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await http.GetAsync("/api/providers")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await http.GetAsync("/api/links")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            (await http.GetAsync("/api/links/bybit/1/credential?userId=u")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized, "a function key is no backend credential");
            // The timer invocation as the host posts it (only that shape is answered: TimerInvocationShape).
            var timer = FunctionsHost.Emulation.TimerTrigger.Index(FunctionsHost.Emulation.ScriptRoot.Read(root).Functions.Single(f => f.Name == "RefreshTokens"),
                new FunctionsHost.Emulation.AppSettings(new Dictionary<string, string> { [OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name] = "0 */5 * * * *" }));
            using var invocationRequest = timer.InvocationRequest(port, FunctionsHost.Emulation.FunctionsHostEmulator.HostVersion, isPastDue: false, DateTime.UtcNow);
            using var hostClient = new HttpClient();
            (await hostClient.SendAsync(invocationRequest)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
