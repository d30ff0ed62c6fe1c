using Microsoft.AspNetCore.Http;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// The host's <c>AppServiceHeaderFixupMiddleware</c> (azure-functions-host
/// <c>src/WebJobs.Script.WebHost/Middleware/AppServiceHeaderFixupMiddleware.cs:23-40</c>), registered only on Linux managed
/// hosting, Linux/Flex Consumption and Linux Dedicated (<c>WebJobsApplicationBuilderExtension.cs:80-83</c>,
/// <c>Environment/EnvironmentExtensions.cs:349-352</c>), after the front end and before the function is routed and
/// invoked: <c>DISGUISED-HOST</c>, when present, replaces the <c>HOST</c> header; the first <c>X-Forwarded-Proto</c>
/// value, when not empty, becomes <c>Request.Scheme</c>. Neither is checked, and both feed <c>GetDisplayUrl()</c>, from
/// which the host builds the forwarded path (<see cref="RequestForwarder"/>). The headers themselves stay on the request
/// and are copied to the handler.
/// </summary>
public static class AppServiceHeaderFixup
{
    public static void Apply(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.TryGetValue("DISGUISED-HOST", out var host))
        {
            headers["HOST"] = host;
        }

        if (headers.TryGetValue("X-Forwarded-Proto", out var proto) && proto.FirstOrDefault() is { Length: > 0 } scheme)
        {
            context.Request.Scheme = scheme;
        }
    }
}
