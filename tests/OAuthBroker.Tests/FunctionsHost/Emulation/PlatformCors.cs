using System.Text.Json;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// The platform's CORS, which the host runs on Linux Consumption and Flex Consumption (or whenever CORS is configured)
/// before any function is routed (<c>WebJobs.Script.WebHost/WebScriptHostBuilderExtension.cs:130-136</c>,
/// <c>WebJobsApplicationBuilderExtension.cs:95-96</c>, <c>Middleware/JobHostCorsMiddleware.cs</c>): one default policy
/// from <c>CORS_ALLOWED_ORIGINS</c> (a JSON array) and <c>CORS_SUPPORT_CREDENTIALS</c>, with any header and any method
/// (<c>Configuration/HostCorsOptionsSetup.cs:21-34</c>, <c>Configuration/CorsOptionsSetup.cs:22-40</c>), run by ASP.NET Core's
/// own <see cref="CorsMiddleware"/> with that policy (<c>Middleware/CorsMiddlewareFactory.cs:23-30</c>). That middleware
/// answers every preflight itself with 204, allowed or not, and never passes it on; on other requests it adds its headers
/// when the origin is allowed. The platform fills the two settings from the site's CORS configuration (azure-functions-host
/// #5200; UNCONFIRMED for Flex, where <c>siteConfig.cors</c> is the documented way).
/// </summary>
public static class PlatformCors
{
    public const string AllowedOriginsSetting = "CORS_ALLOWED_ORIGINS";
    public const string SupportCredentialsSetting = "CORS_SUPPORT_CREDENTIALS";

    public static CorsPolicy Policy(AppSettings settings)
    {
        var origins = settings.JobHostConfiguration[AllowedOriginsSetting] is { Length: > 0 } json && !string.IsNullOrWhiteSpace(json)
            ? JsonSerializer.Deserialize<string[]>(json)! : [];
        var builder = new CorsPolicyBuilder(origins);
        if (bool.TryParse(settings.JobHostConfiguration[SupportCredentialsSetting], out var credentials) && credentials)
        {
            builder = builder.AllowCredentials();
        }

        builder.AllowAnyHeader();
        builder.AllowAnyMethod();
        return builder.Build();
    }

    public static CorsMiddleware Middleware(RequestDelegate next, CorsPolicy policy) =>
        new(next, new CorsService(Options.Create(new CorsOptions()), NullLoggerFactory.Instance), policy, NullLoggerFactory.Instance);
}
