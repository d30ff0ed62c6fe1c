using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Host.Identity;

/// <summary>How end users are recognised (section <c>Authentication</c>).</summary>
public sealed class UserAuthenticationOptions
{
    public const string SectionName = "Authentication";

    /// <summary>
    /// Issuer of the platform's bearer tokens; its OpenID discovery document gives the signing keys (Microsoft Entra ID:
    /// <c>https://login.microsoftonline.com/{tenant}/v2.0</c>). Unset: no bearer tokens are accepted.
    /// </summary>
    public string? JwtAuthority { get; set; }

    /// <summary>Audience the tokens must carry (the platform API's client id or app id URI). Required with <see cref="JwtAuthority"/>.</summary>
    public string? JwtAudience { get; set; }

    /// <summary>Claim holding the user id. Default <c>sub</c> (Entra ID: <c>oid</c> is stable across apps).</summary>
    public string UserIdClaim { get; set; } = "sub";

    /// <summary>
    /// Trust App Service Authentication ("Easy Auth"): the platform injects <c>X-MS-CLIENT-PRINCIPAL-ID</c> after signing the
    /// user in and strips client-sent copies — but only while Easy Auth is on, so the headers are believed only when the
    /// platform says so too (<see cref="EasyAuthPrincipal"/>). Default false.
    /// </summary>
    public bool TrustEasyAuthHeaders { get; set; }

    /// <summary>
    /// The one Easy Auth identity provider whose users are this broker's users (<c>X-MS-CLIENT-PRINCIPAL-IDP</c>), default
    /// <c>aad</c> (Microsoft Entra ID, whose principal id is the user's object id, as a JWT's <c>oid</c>). Principals from
    /// any other provider are refused: ids of different providers share no namespace (numeric ids collide).
    /// </summary>
    public string EasyAuthIdentityProvider { get; set; } = "aad";

    /// <summary>
    /// The development identity (<c>X-Dev-User</c> header, <c>dev_user</c> cookie: anyone is anyone). Only on a developer's
    /// machine (<see cref="DevelopmentIdentityRule"/>); switched on anywhere else, the app refuses to start. Default false.
    /// </summary>
    public bool DevelopmentIdentity { get; set; }

    internal sealed class Validator : IValidateOptions<UserAuthenticationOptions>
    {
        public ValidateOptionsResult Validate(string? name, UserAuthenticationOptions options)
        {
            var errors = new List<string>();
            if (options.JwtAuthority is not null && !OAuthBroker.Providers.EndpointRules.IsAcceptableEndpoint(options.JwtAuthority, out _))
            {
                errors.Add($"{SectionName}:JwtAuthority must be an absolute https URL (http only for loopback).");
            }

            if (options.JwtAuthority is not null && string.IsNullOrWhiteSpace(options.JwtAudience))
            {
                errors.Add($"{SectionName}:JwtAudience is required with JwtAuthority.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}

/// <summary>
/// The production user: a validated bearer JWT's user claim (issuer, audience, lifetime and signature checked by the
/// JwtBearer handler against the authority's discovery document), else the Easy Auth principal when trusted.
/// </summary>
public sealed class AuthenticatedUserResolver(IOptions<UserAuthenticationOptions> options, EasyAuthPrincipal easyAuth) : ICurrentUserResolver
{
    public const string EasyAuthHeader = EasyAuthPrincipal.IdHeader;

    public string? Resolve(HttpContext context)
    {
        var o = options.Value;
        if (context.User.Identity?.IsAuthenticated == true && context.User.FindFirstValue(o.UserIdClaim) is { } fromToken)
        {
            return UserIds.IsValid(fromToken) ? fromToken : null;
        }

        return easyAuth.Resolve(context);
    }
}

/// <summary>In Development the development identity comes first, then the production ways.</summary>
public sealed class DevelopmentOrAuthenticatedUserResolver(DevelopmentUserResolver development, AuthenticatedUserResolver authenticated) : ICurrentUserResolver
{
    public string? Resolve(HttpContext context) => development.Resolve(context) ?? authenticated.Resolve(context);
}

public static class UserAuthenticationExtensions
{
    public static void AddUserAuthentication(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<UserAuthenticationOptions>().Bind(builder.Configuration.GetSection(UserAuthenticationOptions.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<UserAuthenticationOptions>, UserAuthenticationOptions.Validator>();
        builder.Services.AddSingleton<EasyAuthPrincipal>();
        var settings = builder.Configuration.GetSection(UserAuthenticationOptions.SectionName).Get<UserAuthenticationOptions>() ?? new();
        var authentication = builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme);
        if (settings.JwtAuthority is not null)
        {
            authentication.AddJwtBearer(jwt =>
            {
                jwt.Authority = settings.JwtAuthority;
                jwt.Audience = settings.JwtAudience;
                // Keep claim names as issued ("sub", "oid"), not mapped to long WS-* URIs.
                jwt.MapInboundClaims = false;
                jwt.RequireHttpsMetadata = !new Uri(settings.JwtAuthority).IsLoopback;
                jwt.TokenValidationParameters.ClockSkew = TimeSpan.FromMinutes(2);
            });
        }
    }
}
