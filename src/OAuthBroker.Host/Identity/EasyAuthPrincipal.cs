using Microsoft.Extensions.Options;

namespace OAuthBroker.Host.Identity;

/// <summary>
/// The App Service Authentication ("Easy Auth") principal. The platform strips client-sent <c>X-MS-CLIENT-PRINCIPAL-*</c>
/// headers only while authentication is on for the app, so the headers are believed only when both the operator
/// (<c>Authentication:TrustEasyAuthHeaders</c>) and the platform (<see cref="PlatformVariable"/>) say it is on, and only
/// for the configured identity provider. Otherwise they are anyone's headers: ignored, and logged once.
/// </summary>
public sealed partial class EasyAuthPrincipal(IOptions<UserAuthenticationOptions> options, IConfiguration configuration, ILogger<EasyAuthPrincipal> logger)
{
    public const string IdHeader = "X-MS-CLIENT-PRINCIPAL-ID";
    public const string IdentityProviderHeader = "X-MS-CLIENT-PRINCIPAL-IDP";

    /// <summary>
    /// "Read-only. Injected into a Windows or Linux app to indicate whether App Service authentication is enabled."
    /// (https://learn.microsoft.com/azure/app-service/reference-app-settings, "Authentication &amp; Authorization").
    /// The Functions host sets it from the site's auth settings on Linux Consumption and Flex and reads it with
    /// <c>bool.TryParse</c> (azure-functions-host @89dc438: src/WebJobs.Script.WebHost/Models/HostAssignmentContext.cs:153-165,
    /// src/WebJobs.Script/Environment/EnvironmentExtensions.cs:60-64), as this class does.
    /// </summary>
    public const string PlatformVariable = "WEBSITE_AUTH_ENABLED";

    private readonly bool _platformSaysOn = bool.TryParse(configuration[PlatformVariable], out var on) && on;
    private int _ignoredLogged;
    private int _foreignLogged;

    public string? Resolve(HttpContext context)
    {
        var principal = context.Request.Headers[IdHeader].ToString();
        if (principal.Length == 0)
        {
            return null;
        }

        var o = options.Value;
        if (!o.TrustEasyAuthHeaders || !_platformSaysOn)
        {
            if (Interlocked.Exchange(ref _ignoredLogged, 1) == 0)
            {
                LogIgnored(logger, IdHeader, o.TrustEasyAuthHeaders ? $"{PlatformVariable} is not True (Easy Auth is off)" : "Authentication:TrustEasyAuthHeaders is off");
            }

            return null;
        }

        if (!string.Equals(context.Request.Headers[IdentityProviderHeader].ToString(), o.EasyAuthIdentityProvider, StringComparison.OrdinalIgnoreCase))
        {
            if (Interlocked.Exchange(ref _foreignLogged, 1) == 0)
            {
                LogForeignProvider(logger);
            }

            return null;
        }

        return UserIds.IsValid(principal) ? principal : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Header} header ignored: {Reason}. Anyone can send it while the platform does not strip it (logged once)")]
    private static partial void LogIgnored(ILogger logger, string header, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Easy Auth principal from an identity provider other than Authentication:EasyAuthIdentityProvider refused (logged once)")]
    private static partial void LogForeignProvider(ILogger logger);
}
