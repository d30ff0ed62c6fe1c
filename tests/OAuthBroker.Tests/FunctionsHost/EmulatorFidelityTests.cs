using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.Tests.FunctionsHost.Emulation;

namespace OAuthBroker.Tests.FunctionsHost;

/// <summary>
/// The emulated host does what the host's source says, shown on a script root of the shape this app had before (loose
/// routes, <c>%Refresh__Schedule%</c>) and a handler that only echoes what reached it: the security review's reproduction
/// (F1) and the functions-host review's D1 and D4, as the emulator reproduces them.
/// </summary>
public sealed class EmulatorFidelityTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "emulated-script-root-" + Guid.NewGuid().ToString("N"));
    private WebApplication _echo = null!;
    private FunctionsHostEmulator _host = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "host.json"), """
            { "version": "2.0", "extensions": { "http": { "routePrefix": "api" } },
              "customHandler": { "description": { "defaultExecutablePath": "handler" }, "enableForwardingHttpRequest": true } }
            """);
        Function("Callback", """{ "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": ["get"], "route": "oauth/{provider}/callback" }""");
        Function("Credential", """{ "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function", "methods": ["get"], "route": "links/{provider}/{accountId}/credential" }""");
        Function("Start", """{ "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": ["post"], "route": "oauth/{provider}/start" }""");
        Function("Timer", """{ "type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "%Refresh__Schedule%" }""", http: false);

        // A handler that answers with the request line and headers it received.
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        _echo = builder.Build();
        _echo.Run(async context => await context.Response.WriteAsync($"{context.Request.Method} {context.Request.GetEncodedPathAndQuery()}\n" +
            string.Join("\n", context.Request.Headers.Select(h => $"{h.Key}: {h.Value}")) + "\nBody: " + await new StreamReader(context.Request.Body).ReadToEndAsync()));
        await _echo.StartAsync();
        _host = await FunctionsHostEmulator.StartAsync(new FunctionsHostOptions
        {
            ScriptRoot = _root,
            RunningHandlerPort = port,
            AppSettings = new Dictionary<string, string> { ["Refresh__Schedule"] = "0 */5 * * * *" },
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _echo.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private void Function(string name, string trigger, bool http = true)
    {
        Directory.CreateDirectory(Path.Combine(_root, name));
        var output = http ? """, { "type": "http", "direction": "out", "name": "res" }""" : "";
        File.WriteAllText(Path.Combine(_root, name, "function.json"), $$"""{ "bindings": [ {{trigger}}{{output}} ] }""");
    }

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(string pathAndQuery, Action<HttpRequestMessage>? change = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_host.Uri.AbsoluteUri.TrimEnd('/') + pathAndQuery,
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));
        change?.Invoke(request);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/api/oauth/..%5Clinks%5Cbybit%5C12345%5Ccredential%3F/callback?userId=victim")]
    [InlineData("/api/oauth/..%5Clinks%5Cbybit%5C12345%5Ccredential%23/callback?userId=victim")]
    [InlineData("/api/oauth/..\\links\\bybit\\12345\\credential%3F/callback?userId=victim")]
    public async Task A_loose_anonymous_route_forwards_a_decoded_walk_out_as_another_route(string attack)
    {
        var (status, body) = await SendAsync(attack);
        status.ShouldBe(HttpStatusCode.OK);
        _host.Invocations[^1].Function.ShouldBe("Callback", "matched as the anonymous function: no key asked");
        body.ShouldStartWith("GET /api/links/bybit/12345/credential?userId=victim\n");
    }

    [Fact]
    public async Task Repeated_query_keys_arrive_comma_joined_and_the_query_re_encoded()
    {
        var (_, body) = await SendAsync("/api/oauth/bybit/callback?code=A&state=S&code=B&returnUrl=/a:b+c");
        // QueryHelpers writes %2C; new Uri(...) gives the comma back (same APIs as the host), "+" was a space and is %20 now.
        body.ShouldStartWith("GET /api/oauth/bybit/callback?code=A,B&state=S&returnUrl=%2Fa%3Ab%20c\n");
    }

    [Fact]
    public async Task Forwarded_requests_carry_the_clients_headers_and_the_hosts_own()
    {
        var (_, body) = await SendAsync("/api/oauth/bybit/callback", r => r.Headers.UserAgent.ParseAdd("browser/1.0"));
        body.ShouldContain("X-Azure-Functions-HostVersion: " + FunctionsHostEmulator.HostVersion);
        body.ShouldContain("X-Azure-Functions-InvocationId: ");
        body.ShouldContain($"User-Agent: browser/1.0 Azure-Functions-Host/{FunctionsHostEmulator.HostVersion}");
        body.ShouldContain("Client-IP: 127.0.0.1:");
        body.ShouldContain("X-Forwarded-For: 127.0.0.1:");
    }

    /// <summary>
    /// The body travels only with a Content-Length. A chunked request's <c>Transfer-Encoding</c> header is copied without a
    /// body, and the host's HttpClient refuses to send that: the invocation fails with a 500 before the handler sees it
    /// (the review expected the body to be dropped; this is what the host's own expressions do on this runtime).
    /// </summary>
    [Fact]
    public async Task A_body_is_forwarded_only_with_a_Content_Length()
    {
        using var http = new HttpClient();
        var start = new Uri(_host.Uri, "api/oauth/bybit/start");
        using var sized = await http.PostAsync(start, new StringContent("sized-body"));
        (await sized.Content.ReadAsStringAsync()).ShouldEndWith("\nBody: sized-body");

        using var chunked = new HttpRequestMessage(HttpMethod.Post, start) { Content = new StreamContent(new MemoryStream("chunked-body"u8.ToArray())) };
        chunked.Headers.TransferEncodingChunked = true;
        using var answer = await http.SendAsync(chunked);
        answer.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
        (await answer.Content.ReadAsStringAsync()).ShouldBeEmpty("the host's answer: the handler never saw the request");
        _host.Log.Entries[^1].Message.ShouldContain("(Failed, ");
    }

    [Fact]
    public async Task A_function_key_is_checked_before_the_handler_is_called()
    {
        var before = _host.Invocations.Count;
        var (status, body) = await SendAsync("/api/links/bybit/1/credential?userId=u");
        status.ShouldBe(HttpStatusCode.Unauthorized);
        body.ShouldBeEmpty();
        (await SendAsync("/api/links/bybit/1/credential?userId=u&code=" + Uri.EscapeDataString(_host.Keys.KeyOf("Credential")))).Status.ShouldBe(HttpStatusCode.OK);
        (await SendAsync("/api/links/bybit/1/credential?userId=u", r => r.Headers.Add("x-functions-key", _host.Keys.MasterKey))).Status.ShouldBe(HttpStatusCode.OK);
        (await SendAsync("/api/links/bybit/1/credential?userId=u", r => r.Headers.Add("x-functions-key", _host.Keys.KeyOf("Callback")))).Status
            .ShouldBe(HttpStatusCode.Unauthorized, "another function's key");
        _host.Invocations.Count.ShouldBe(before + 2);
    }

    [Fact]
    public async Task A_schedule_named_with_double_underscores_does_not_resolve_and_the_timer_is_in_error()
    {
        _host.FunctionErrors["Timer"].ShouldContain("'%Refresh__Schedule%' does not resolve to a value.");
        _host.Log.Entries.ShouldContain(e => e.Level == LogLevel.Error && e.Message.Contains("does not resolve", StringComparison.Ordinal));
        await Should.ThrowAsync<InvalidOperationException>(() => _host.FireTimerAsync("Timer"));
    }

    [Fact]
    public void App_settings_reach_the_job_host_as_the_environment_variable_provider_stores_them()
    {
        // The real provider, on a real environment variable of this process, against the emulation.
        var name = "OAUTHBROKER_EMULATION_" + Guid.NewGuid().ToString("N") + "__Probe";
        Environment.SetEnvironmentVariable(name, "1");
        try
        {
            var real = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            var emulated = new AppSettings(new Dictionary<string, string> { [name] = "1" });
            foreach (var key in new[] { name, name.Replace("__", ":", StringComparison.Ordinal) })
            {
                emulated.Resolve(key).ShouldBe(real[key], key);
            }

            real[name].ShouldBeNull("stored under A:B, so %A__B% finds nothing");
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }
}
