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

/// <summary>No caller authentication is configured: nobody is a user (every user endpoint answers 401).</summary>
public sealed class NoCurrentUserResolver : ICurrentUserResolver
{
    public string? Resolve(HttpContext context) => null;
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
    public static IServiceCollection AddCurrentUser(this IServiceCollection services, IHostEnvironment environment)
    {
        if (environment.IsDevelopment())
        {
            services.AddSingleton<ICurrentUserResolver, DevelopmentUserResolver>();
        }
        else
        {
            services.AddSingleton<ICurrentUserResolver, NoCurrentUserResolver>();
        }

        return services;
    }
}
