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

/// <summary>
/// Development identity: the user id from the <c>X-Dev-User</c> header (curl) or the <c>dev_user</c> cookie
/// (the demo page). Registered only in the Development environment; anyone can claim any id with it.
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

public static class UserIds
{
    /// <summary>User ids are the platform's: letters, digits and <c>. _ @ + -</c>, at most 128 characters.</summary>
    public static bool IsValid(string value) =>
        value.Length is > 0 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '@' or '+' or '-');
}

public static class CurrentUserServiceCollectionExtensions
{
    /// <summary>
    /// Production: bearer JWT or Easy Auth (<see cref="AuthenticatedUserResolver"/>). Development adds the development
    /// identity in front; it is never registered in any other environment.
    /// </summary>
    public static IServiceCollection AddCurrentUser(this IServiceCollection services, IHostEnvironment environment)
    {
        services.AddSingleton<AuthenticatedUserResolver>();
        if (environment.IsDevelopment())
        {
            services.AddSingleton<DevelopmentUserResolver>();
            services.AddSingleton<ICurrentUserResolver, DevelopmentOrAuthenticatedUserResolver>();
        }
        else
        {
            services.AddSingleton<ICurrentUserResolver>(sp => sp.GetRequiredService<AuthenticatedUserResolver>());
        }

        return services;
    }
}
