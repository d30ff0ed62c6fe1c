using Microsoft.Extensions.Options;
using OAuthBroker.Flows;

namespace OAuthBroker.Host.Identity;

/// <summary>
/// Development identity: the user id from the <c>X-Dev-User</c> header (curl) or the <c>dev_user</c> cookie (the demo
/// page). Anyone can claim any id with it, so it is active only where <see cref="DevelopmentIdentityRule"/> allows.
/// </summary>
public sealed class DevelopmentUserResolver : ICurrentUserResolver
{
    public const string HeaderName = "X-Dev-User";
    public const string CookieName = "dev_user";

    public string? Resolve(HttpContext context)
    {
        var value = context.Request.Headers[HeaderName].ToString();
        if (string.IsNullOrEmpty(value))
        {
            value = context.Request.Cookies[CookieName] ?? "";
        }

        return UserIds.IsValid(value) ? value : null;
    }
}

/// <summary>
/// Where the development identity may be active: switched on explicitly (<c>Authentication:DevelopmentIdentity</c>),
/// in the Development environment, on a developer's machine (loopback <c>Broker:PublicBaseUrl</c>, nothing that says
/// Azure), and not under the Functions host (which the platform runs). Each condition on its own, whatever
/// <c>ASPNETCORE_ENVIRONMENT</c> says: one copied app setting must never let anyone be anyone.
/// </summary>
public static class DevelopmentIdentityRule
{
    /// <summary>Why the development identity may not be active here, or null when it may.</summary>
    public static string? WhyNotAllowed(IHostEnvironment environment, HostingSurroundings surroundings) =>
        !environment.IsDevelopment() ? "the environment is not Development"
        : !surroundings.LoopbackPublicBase ? "Broker:PublicBaseUrl is not a loopback address"
        : surroundings.InAzure ? $"the process runs in Azure (one of {string.Join(", ", HostingSurroundings.AzureVariables)} is set)"
        : surroundings.UnderFunctionsHost ? $"the Functions host started the process ({HostingSurroundings.FunctionsHostPortVariable} is set)"
        : null;

    internal sealed class Validator(IHostEnvironment environment, HostingSurroundings surroundings) : IValidateOptions<UserAuthenticationOptions>
    {
        public ValidateOptionsResult Validate(string? name, UserAuthenticationOptions options) =>
            options.DevelopmentIdentity && WhyNotAllowed(environment, surroundings) is { } reason
                ? ValidateOptionsResult.Fail($"{UserAuthenticationOptions.SectionName}:DevelopmentIdentity is on, but {reason}: the development identity lets anyone claim any user, so it runs only on a developer's machine.")
                : ValidateOptionsResult.Success;
    }
}
