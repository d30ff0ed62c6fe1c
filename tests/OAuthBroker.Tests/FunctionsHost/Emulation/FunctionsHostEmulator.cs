using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>How to run the emulated host.</summary>
public sealed class FunctionsHostOptions
{
    /// <summary>The built script root (host.json, one folder per function.json, the handler's executable).</summary>
    public required string ScriptRoot { get; init; }

    /// <summary>App settings: the host's environment, and so the handler's.</summary>
    public Dictionary<string, string> AppSettings { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The public port (what clients call); 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Null: start the handler the way the host does (<see cref="WorkerProcess"/>). Otherwise the port of a handler that
    /// is already listening as a custom handler would (FUNCTIONS_CUSTOMHANDLER_PORT): tests that must drive the handler's
    /// clock run it in their own process this way.
    /// </summary>
    public int? RunningHandlerPort { get; init; }

    /// <summary>
    /// Flex (or Linux) Consumption: the platform's CORS runs in the host, and so does <see cref="AppServiceHeaderFixup"/>
    /// (Linux managed hosting). Default true.
    /// </summary>
    public bool LinuxConsumption { get; init; } = true;

    /// <summary>App Service's front end writes the client-address headers. Default true.</summary>
    public bool FrontEnd { get; init; } = true;

    /// <summary>App Service Authentication in front of the app; null when it is off (the default).</summary>
    public AppServiceAuthentication? Authentication { get; init; }
}

/// <summary>A forwarded invocation: which function the host matched, and the URI it sent the handler.</summary>
public sealed record ForwardedInvocation(string Function, string Method, string ForwardedUri);

/// <summary>
/// The Azure Functions host, as far as a custom handler with <c>enableForwardingHttpRequest</c> can tell: a Kestrel server
/// on loopback that reads the script root, matches HTTP function routes on the decoded path, checks function keys, answers
/// CORS preflights on Linux/Flex Consumption, forwards the request rebuilt as the host rebuilds it and hands the answer
/// back, resolves and fires timer functions, starts the handler, and keeps a host log. Each behaviour cites the host's
/// source in the class that implements it; the request pipeline's order is <c>WebJobsApplicationBuilderExtension.cs:36-106</c>
/// (front end, then <c>AppServiceHeaderFixupMiddleware</c> on Linux hosting, then the job host's middleware with CORS, then
/// the function invocation with routing and keys).
/// Not imitated: the homepage at <c>/</c>, the admin API, Easy Auth, proxies, warm-up, the payload mode for HTTP functions
/// that are not "HTTP in and out" (the emulator refuses to start on such a function instead).
/// </summary>
public sealed class FunctionsHostEmulator : IAsyncDisposable
{
    /// <summary>The host version the references are from (azure-functions-host 89dc438, "Host release prep 4.1037.0").</summary>
    public const string HostVersion = "4.1037.0";

    private readonly WebApplication _server;
    private readonly WorkerProcess? _worker;
    private readonly RequestForwarder _forwarder;
    private readonly ConcurrentQueue<ForwardedInvocation> _invocations = new();

    private FunctionsHostEmulator(ScriptRoot root, AppSettings settings, FunctionKeys keys, HostLog log, IReadOnlyDictionary<string, TimerTrigger> timers,
        WebApplication server, WorkerProcess? worker, RequestForwarder forwarder, Uri uri)
    {
        Root = root;
        Settings = settings;
        Keys = keys;
        Log = log;
        Timers = timers;
        _server = server;
        _worker = worker;
        _forwarder = forwarder;
        Uri = uri;
    }

    public ScriptRoot Root { get; }
    public AppSettings Settings { get; }
    public FunctionKeys Keys { get; }
    public HostLog Log { get; }
    public IReadOnlyDictionary<string, TimerTrigger> Timers { get; }

    /// <summary>The public address, as clients call it.</summary>
    public Uri Uri { get; }

    public int HandlerPort => _forwarder.HandlerPort;

    public IReadOnlyList<ForwardedInvocation> Invocations => _invocations.ToArray();

    public HostTelemetry Telemetry { get; private init; } = null!;

    /// <summary>App Service's front end (its reading of client forwarding headers can be switched per test).</summary>
    public AppServiceFrontEnd FrontEnd { get; private init; } = null!;

    /// <summary>Functions the host could not index, with its message (the rest run).</summary>
    public IReadOnlyDictionary<string, string> FunctionErrors => Timers.Values.Where(t => t.Error is not null).ToDictionary(t => t.Function.Name, t => t.Error!);

    public static async Task<FunctionsHostEmulator> StartAsync(FunctionsHostOptions options)
    {
        var root = ScriptRoot.Read(options.ScriptRoot);
        if (!root.EnableForwardingHttpRequest)
        {
            throw new NotSupportedException("Only enableForwardingHttpRequest is emulated (see docs/functions-host.md).");
        }

        if (root.Functions.FirstOrDefault(f => f.IsHttpTrigger && !f.IsHttpInAndOutFunction) is { } payloadMode)
        {
            throw new NotSupportedException($"{payloadMode.Name} is not an HTTP in-and-out function: the host would post it as a payload to /{payloadMode.Name}, which is not emulated.");
        }

        var settings = new AppSettings(options.AppSettings);
        var log = new HostLog();
        var keys = new FunctionKeys();
        foreach (var function in root.Functions)
        {
            keys.AddFunction(function.Name);
        }

        var timers = root.Functions.Where(f => string.Equals(FunctionDefinition.Type(f.Trigger), "timerTrigger", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(f => f.Name, f => TimerTrigger.Index(f, settings), StringComparer.OrdinalIgnoreCase);
        foreach (var error in timers.Values.Where(t => t.Error is not null))
        {
            log.Add(LogLevel.Error, "Host.Startup", error.Error!);
        }

        WorkerProcess? worker = null;
        var handlerPort = options.RunningHandlerPort ?? (worker = WorkerProcess.Start(root, settings, log)).Port;
        var forwarder = new RequestForwarder(handlerPort, HostVersion);
        try
        {
            await WaitUntilReadyAsync(handlerPort, worker, log);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            // The host's full routing (regex and every other inline constraint).
            builder.Services.AddRouting();
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(IPAddress.Loopback, options.Port);
                kestrel.AddServerHeader = false;
                // WebJobs.Script.WebHost/Program.cs:48-51 (ScriptConstants.DefaultMaxRequestBodySize); other limits are Kestrel's defaults.
                kestrel.Limits.MaxRequestBodySize = 104857600;
            });
            var server = builder.Build();
            var router = new FunctionRouter(root, server.Services.GetRequiredService<IInlineConstraintResolver>());
            CorsPolicy? corsPolicy = options.LinuxConsumption ? PlatformCors.Policy(settings) : null;
            FunctionsHostEmulator? host = null;
            RequestDelegate invoke = context => host!.InvokeFunctionAsync(context, router);
            var cors = corsPolicy is null ? null : PlatformCors.Middleware(invoke, corsPolicy);
            var telemetry = new HostTelemetry(root, log);
            var frontEnd = new AppServiceFrontEnd();
            server.Run(context =>
            {
                telemetry.RequestStarting(context.Request.Method, context.Request.GetDisplayUrl());
                if (options.FrontEnd)
                {
                    frontEnd.Apply(context);
                }

                options.Authentication?.Apply(context);
                if (options.LinuxConsumption)
                {
                    AppServiceHeaderFixup.Apply(context);
                }

                return cors is null ? invoke(context) : cors.Invoke(context, null!);
            });
            await server.StartAsync();
            var port = new Uri(server.Urls.Single()).Port;
            host = new FunctionsHostEmulator(root, settings, keys, log, timers, server, worker, forwarder, new Uri($"http://127.0.0.1:{port}/"))
            {
                Telemetry = telemetry,
                FrontEnd = frontEnd,
            };
            return host;
        }
        catch
        {
            forwarder.Dispose();
            if (worker is not null)
            {
                await worker.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Fires a timer function now (as its schedule would) and returns the lines it logged; throws where the host's invocation fails.</summary>
    public async Task<IReadOnlyList<string>> FireTimerAsync(string function, bool isPastDue = false)
    {
        var timer = Timers[function];
        using var request = timer.InvocationRequest(HandlerPort, HostVersion, isPastDue, DateTime.UtcNow);
        using var http = new HttpClient { Timeout = RequestForwarder.InvocationTimeout };
        using var answer = await http.SendAsync(request);
        return await timer.ReadResultAsync(answer, Log);
    }

    /// <summary>
    /// <c>FunctionInvocationMiddleware.GetResultAsync</c> (<c>src/WebJobs.Script.WebHost/Middleware/FunctionInvocationMiddleware.cs:99-121</c>):
    /// no matched function is a bare 404, a failed key check a bare 401. The "Executing" line is the one the host's own
    /// end-to-end test expects for an HTTP invocation (<c>test/WebJobs.Script.Tests.Integration/ApplicationInsights/ApplicationInsightsEndToEndTestsBase.cs:168</c>).
    /// </summary>
    private async Task InvokeFunctionAsync(HttpContext context, FunctionRouter router)
    {
        if (await router.MatchAsync(context) is not { } match)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!Keys.IsAuthorized(context.Request, match.Function))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var invocationId = Guid.NewGuid().ToString();
        var forwardedUri = _forwarder.ForwardedUri(context.Request);
        _invocations.Enqueue(new ForwardedInvocation(match.Function.Name, context.Request.Method, forwardedUri));
        Telemetry.Forwarded(match.Function.Name, context.Request.Method, context.Request.GetDisplayUrl(), forwardedUri);
        Log.Add(LogLevel.Information, $"Function.{match.Function.Name}", $"Executing 'Functions.{match.Function.Name}' (Reason='This function was programmatically called via the host APIs.', Id={invocationId})");
        try
        {
            await _forwarder.ForwardAsync(context, invocationId);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // A failed invocation is a bare 500, unless the answer has started (ExceptionMiddleware.cs:23-51; there the
            // host rethrows and the connection is aborted).
            Log.Add(LogLevel.Error, $"Function.{match.Function.Name}", $"Executed 'Functions.{match.Function.Name}' (Failed, Id={invocationId}): {e.GetType().Name}");
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            }
        }
    }

    /// <summary>
    /// The host waits for the handler by sending <c>GET /</c> every 25 ms until any HTTP answer, for at most the
    /// initialization timeout, 30 s by default (<c>DefaultHttpWorkerService.cs:263-289</c>, <c>WorkerConstants.cs:11</c>,
    /// <c>Workers/Http/Configuration/HttpWorkerOptions.cs:20</c>).
    /// </summary>
    private static async Task WaitUntilReadyAsync(int port, WorkerProcess? worker, HostLog log)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (worker?.HasExited == true)
            {
                throw new InvalidOperationException("The handler exited while starting: " + string.Join(" | ", log.Entries.Select(e => e.Message)));
            }

            try
            {
                using var _ = await http.GetAsync($"http://127.0.0.1:{port}/");
                return;
            }
            catch (HttpRequestException e)
            {
                last = e;
                await Task.Delay(25);
            }
        }

        throw new TimeoutException($"The handler on port {port} did not answer within the host's 30 s initialization timeout ({last?.Message}): "
            + string.Join(" | ", log.Entries.Select(e => e.Message)));
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        _forwarder.Dispose();
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }
    }
}
