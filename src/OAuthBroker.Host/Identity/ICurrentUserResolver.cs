using Microsoft.Extensions.Options;
using OAuthBroker.Flows;

namespace OAuthBroker.Host.Identity;

/// <summary>
/// Who "the current user" is. The one place caller identity is decided; endpoints only ask this.
/// Production caller authentication (bearer JWT, Easy Auth) plugs in here.
/// </summary>
public interface ICurrentUserResolver
{
    /// <summary>The platform's id for the user, or null when the caller is not authenticated.</summary>
    string? Resolve(HttpContext context);
}

public static class UserIds
{
    /// <summary>User ids are the platform's: letters, digits and <c>. _ @ + -</c>, at most 128 characters.</summary>
    public static bool IsValid(string value) =>
        value.Length is > 0 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '@' or '+' or '-');
}

public static class CurrentUserServiceCollectionExtensions
{
    /// <summary>
    /// Production: bearer JWT or Easy Auth (<see cref="AuthenticatedUserResolver"/>). The development identity comes in
    /// front only when <c>Authentication:DevelopmentIdentity</c> is on and <see cref="DevelopmentIdentityRule"/> allows
    /// it; switched on anywhere else, the app refuses to start.
    /// </summary>
    public static IServiceCollection AddCurrentUser(this IServiceCollection services, IHostEnvironment environment)
    {
        services.AddSingleton<AuthenticatedUserResolver>();
        services.AddSingleton<DevelopmentUserResolver>();
        services.AddSingleton<IValidateOptions<UserAuthenticationOptions>>(sp =>
            new DevelopmentIdentityRule.Validator(environment, HostingSurroundings.From(sp.GetRequiredService<IConfiguration>())));
        services.AddSingleton<ICurrentUserResolver>(sp =>
        {
            var enabled = sp.GetRequiredService<IOptions<UserAuthenticationOptions>>().Value.DevelopmentIdentity;
            // Note: start-up validation already refuses an enabled identity where it is not allowed; checked again so
            // that no path to the development identity depends on validation having run.
            var allowed = enabled && DevelopmentIdentityRule.WhyNotAllowed(environment, HostingSurroundings.From(sp.GetRequiredService<IConfiguration>())) is null;
            return allowed
                ? new DevelopmentOrAuthenticatedUserResolver(sp.GetRequiredService<DevelopmentUserResolver>(), sp.GetRequiredService<AuthenticatedUserResolver>())
                : sp.GetRequiredService<AuthenticatedUserResolver>();
        });

        return services;
    }
}
