namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// The custom-handler contract, as far as the app is concerned. The Functions host starts the handler with a free port
/// in <c>FUNCTIONS_CUSTOMHANDLER_PORT</c> (and the script root in <c>FUNCTIONS_APP_ROOT_PATH</c>; azure-functions-host
/// <c>src/WebJobs.Script/Workers/Http/HttpWorkerProcess.cs:58-62</c>) and, with <c>enableForwardingHttpRequest</c>, sends
/// each HTTP function's request on to the same <c>/api/...</c> path, <b>rebuilt</b>: the path from the decoded request
/// URL through <c>new Uri(...)</c>, the query re-encoded with repeated keys comma-joined, every header copied and two
/// added, a body only with a Content-Length (<c>DefaultHttpWorkerService.cs:161-177</c>, <c>Extensions/HttpRequestExtensions.cs:124,
/// 155-181,231-240</c>). It answers CORS preflights and function-key failures itself. docs/functions-host.md has the
/// whole list and what the app does about each.
/// </summary>
public static class FunctionsHostIntegration
{
    public const string PortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";

    /// <summary>The script root the host passes to the handler (<c>HttpWorkerConstants.FunctionAppRootVarName</c>).</summary>
    public const string AppRootVariable = "FUNCTIONS_APP_ROOT_PATH";

    /// <summary>
    /// The request line the host may send: its own Kestrel accepts the default 8 KiB line, and re-encoding the query
    /// (<c>QueryHelpers.AddQueryString</c>) turns each character a client may send raw (<c>/ : + = @ ,</c>) into three,
    /// so the forwarded line can be three times as long.
    /// </summary>
    public const int MaxForwardedRequestLine = 3 * 8 * 1024 + 1024;

    /// <summary>The host copies every header and adds <c>X-Azure-Functions-*</c> and a User-Agent suffix (well under 1 KiB).</summary>
    public const int MaxForwardedHeaders = 32 * 1024 + 1024;

    public static bool IsUnderFunctionsHost(IConfiguration configuration) => !string.IsNullOrEmpty(configuration[PortVariable]);

    public static void UseFunctionsHostPortWhenPresent(this WebApplicationBuilder builder)
    {
        var port = builder.Configuration[PortVariable];
        if (string.IsNullOrEmpty(port))
        {
            return;
        }

        if (!ushort.TryParse(port, out var number) || number == 0)
        {
            throw new InvalidOperationException($"{PortVariable} must be a TCP port number.");
        }

        // Only the host talks to the handler: loopback, not the public interface (the host dials 127.0.0.1,
        // Workers/WorkerConstants.cs:8).
        builder.WebHost.UseUrls($"http://127.0.0.1:{number}");
    }
}
