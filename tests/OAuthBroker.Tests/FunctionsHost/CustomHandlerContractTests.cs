using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The custom-handler contract, checked on the build output the Functions host would be given: host.json points
/// at an executable that exists, each function.json is a valid HTTP function whose route the app serves, and the
/// app starts on FUNCTIONS_CUSTOMHANDLER_PORT (payloads posted as the host would forward them).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class CustomHandlerContractTests(BrokerEnvironmentFixture fixture)
{
    private static string ScriptRoot => HandlerProcess.ScriptRoot;

    private static JsonElement Read(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    private static IEnumerable<(string Name, JsonElement Trigger)> AllFunctions() =>
        Directory.GetDirectories(ScriptRoot)
            .Where(directory => File.Exists(Path.Combine(directory, "function.json")))
            .Select(directory => (Path.GetFileName(directory), Read(Path.Combine(directory, "function.json")).GetProperty("bindings")
                .EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "in")));

    private static IEnumerable<(string Name, JsonElement Trigger)> Functions() =>
        AllFunctions().Where(f => f.Trigger.GetProperty("type").GetString() == "httpTrigger");

    /// <summary>Backend functions need a function key at the host; browser-facing ones cannot carry one.</summary>
    private static readonly HashSet<string> BackendFunctions = ["Credential", "RefreshLink", "Events"];

    [Fact]
    public void Host_json_points_at_the_executable_the_build_produces()
    {
        var host = Read(Path.Combine(ScriptRoot, "host.json"));
        host.GetProperty("version").GetString().ShouldBe("2.0");
        var handler = host.GetProperty("customHandler");
        handler.GetProperty("enableForwardingHttpRequest").GetBoolean().ShouldBeTrue();
        host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString().ShouldBe("api");

        var executable = Path.Combine(ScriptRoot, handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString()!);
        File.Exists(executable).ShouldBeTrue($"{executable} is what host.json starts");
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(executable).HasFlag(UnixFileMode.UserExecute).ShouldBeTrue();
        }
    }

    [Fact]
    public void The_repository_host_json_is_the_one_in_the_build_output()
    {
        File.ReadAllText(Path.Combine(ScriptRoot, "host.json")).ShouldBe(File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "host.json")));
    }

    [Fact]
    public void Every_function_json_is_an_HTTP_function_whose_route_and_methods_the_app_serves()
    {
        var functions = Functions().ToList();
        functions.Select(f => f.Name).ShouldBe(["Authorize", "Callback", "Complete", "Credential", "Events", "Health", "Links", "OpenApi", "Providers", "RefreshLink", "Start", "Unlink"], ignoreOrder: true);

        var endpoints = fixture.Environment.Broker.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        foreach (var (name, trigger) in functions)
        {
            trigger.GetProperty("type").GetString().ShouldBe("httpTrigger", name);
            trigger.GetProperty("authLevel").GetString().ShouldBe(BackendFunctions.Contains(name) ? "function" : "anonymous",
                $"{name}: backends send function keys; browsers and the demo page cannot");
            var route = Shape("/api/" + trigger.GetProperty("route").GetString());
            var methods = trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToList();
            methods.ShouldNotBeEmpty(name);
            foreach (var method in methods)
            {
                endpoints.ShouldContain(
                    e => Shape(e.RoutePattern.RawText!) == route && e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods.Contains(method),
                    $"{name}: {method} {route} must be served by the app");
            }
        }
    }

    [Fact]
    public void Every_api_route_of_the_app_has_a_function_so_nothing_is_unreachable_under_the_host()
    {
        var declared = Functions()
            .SelectMany(f => f.Trigger.GetProperty("methods").EnumerateArray().Select(m => (m.GetString()!.ToUpperInvariant(), Shape("/api/" + f.Trigger.GetProperty("route").GetString()))))
            .ToHashSet();
        var served = fixture.Environment.Broker.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods.Select(m => (m, Shape(e.RoutePattern.RawText!))));

        foreach (var endpoint in served)
        {
            declared.ShouldContain(endpoint);
        }
    }

    /// <summary>A route's literal segments and parameter names, without constraints (the host's routes carry them, the app's do not).</summary>
    private static string Shape(string route) => string.Join('/', Microsoft.AspNetCore.Routing.Patterns.RoutePatternFactory.Parse(route).PathSegments
        .Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
            Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            _ => "?",
        }))));

    [Fact]
    public void Every_HTTP_function_is_forwarded_as_a_request_one_http_trigger_in_and_one_http_out()
    {
        foreach (var function in Emulation.ScriptRoot.Read(ScriptRoot).Functions.Where(f => f.IsHttpTrigger))
        {
            function.IsHttpInAndOutFunction.ShouldBeTrue($"{function.Name}: another binding would switch it to the payload mode, posted to /{function.Name}");
        }
    }

    [Fact]
    public void The_timer_function_runs_on_a_six_field_schedule_from_a_setting_the_host_can_resolve()
    {
        var (name, timer) = AllFunctions().Single(f => f.Trigger.GetProperty("type").GetString() == "timerTrigger");
        name.ShouldBe("RefreshTokens");
        timer.GetProperty("schedule").GetString().ShouldBe("%" + OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name + "%");
        timer.GetProperty("schedule").GetString()!.Trim('%').ShouldNotContain("__", customMessage: "the host's configuration stores A__B as A:B; %A__B% never resolves");
        timer.GetProperty("runOnStartup").GetBoolean().ShouldBeFalse("runOnStartup fires on every scale-out");

        var example = Read(Path.Combine(RepositoryRoot.Find(), "local.settings.example.json")).GetProperty("Values");
        var schedule = example.GetProperty(OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name).GetString()!;
        schedule.Split(' ').Length.ShouldBe(6);
        OAuthBroker.Host.Refresh.InProcessRefreshScheduler.Parse(schedule).GetNextOccurrence(new DateTime(2026, 1, 1, 0, 0, 1, DateTimeKind.Utc))
            .ShouldBe(new DateTime(2026, 1, 1, 0, 5, 0, DateTimeKind.Utc));
        OAuthBroker.Host.Refresh.InProcessRefreshScheduler.Parse(new OAuthBroker.Refresh.RefreshOptions().Schedule).ShouldNotBeNull();
    }

    [Fact]
    public async Task The_handler_starts_on_FUNCTIONS_CUSTOMHANDLER_PORT_and_serves_forwarded_requests()
    {
        // The Functions host starts the handler from the script root, with the app settings as environment.
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:1", // must be overridden by the Functions port
            ["Broker__PublicBaseUrl"] = "http://127.0.0.1:7071",
            ["Storage__ConnectionString"] = fixture.Environment.Azurite.ConnectionString,
            // Its own tables: this process's sweep must not touch the other tests' links.
            ["Storage__LinksTable"] = "ContractLinks",
            ["Storage__FlowsTable"] = "ContractFlows",
            ["Storage__ScheduleTable"] = "ContractSchedule",
            // The vault is never called here; the local endpoint's token and certificate are Development-only settings.
            ["KeyVault__VaultUri"] = fixture.Environment.KeyVault.VaultUri.AbsoluteUri,
            ["Providers__Bybit__Enabled"] = "true",
            ["Providers__Bybit__ClientId"] = "contract-client",
            ["Providers__Bybit__ClientSecret"] = fixture.BybitClientSecret,
        };

        await using var handler = await HandlerProcess.StartAsync(HandlerProcess.BuiltExecutable, environment, functionsHostPort: true);
        var port = handler.Port;
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            // The client address App Service's front end writes (the rate limit refuses requests without one under the host).
            http.DefaultRequestHeaders.Add("Client-IP", "203.0.113.7:50123");
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/health");
            // Headers the host adds when it forwards a request.
            request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
            request.Headers.UserAgent.ParseAdd("Azure-Functions-Host/4.1040.0");
            using var health = await http.SendAsync(request);
            health.StatusCode.ShouldBe(HttpStatusCode.OK);

            var providers = await http.GetStringAsync("/api/providers");
            providers.ShouldContain("\"bybit\"");
            providers.ShouldNotContain("contract-client");
            using var links = await http.GetAsync("/api/links");
            links.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, "outside Development there is no development identity");

            // The timer invocation, as the host posts it for a non-HTTP trigger (Emulation.TimerTrigger cites the shape).
            var timer = Emulation.TimerTrigger.Index(Emulation.ScriptRoot.Read(ScriptRoot).Functions.Single(f => f.Name == "RefreshTokens"),
                new Emulation.AppSettings(new Dictionary<string, string> { [OAuthBroker.Host.FunctionsHost.RefreshScheduleSetting.Name] = "0 */5 * * * *" }));
            using var invocationRequest = timer.InvocationRequest(port, Emulation.FunctionsHostEmulator.HostVersion, isPastDue: false, DateTime.UtcNow);
            using var hostClient = new HttpClient();
            using var invocation = await hostClient.SendAsync(invocationRequest);
            invocation.StatusCode.ShouldBe(HttpStatusCode.OK);
            var answer = JsonDocument.Parse(await invocation.Content.ReadAsStringAsync()).RootElement;
            answer.GetProperty("Outputs").ValueKind.ShouldBe(JsonValueKind.Object);
            answer.GetProperty("Logs")[0].GetString()!.ShouldStartWith("Scheduled run");
            answer.GetProperty("ReturnValue").GetProperty("sweep").GetProperty("examined").GetInt32().ShouldBeGreaterThanOrEqualTo(0);
        }
    }
}
