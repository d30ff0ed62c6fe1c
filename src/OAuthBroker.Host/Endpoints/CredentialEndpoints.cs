using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Host.Backends;
using OAuthBroker.Host.Identity;
using OAuthBroker.Providers;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// For the platform's backends: a valid credential for one link (refreshed first when near expiry), and a forced
/// refresh. The refresh token is never part of any answer.
/// </summary>
public static class CredentialEndpoints
{
    public static void MapCredentialEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/links/{provider}/{accountId}/credential", (string provider, string accountId, HttpContext context, BackendAuthenticator backends, CredentialService credentials, CT ct) =>
            ServeAsync(provider, accountId, context, backends, credentials, forceRefresh: false, ct));
        app.MapPost("/api/links/{provider}/{accountId}/refresh", (string provider, string accountId, HttpContext context, BackendAuthenticator backends, CredentialService credentials, CT ct) =>
            ServeAsync(provider, accountId, context, backends, credentials, forceRefresh: true, ct));
    }

    private static async Task<IResult> ServeAsync(string provider, string accountId, HttpContext context, BackendAuthenticator backends, CredentialService credentials, bool forceRefresh, CT ct)
    {
        context.Response.NoStore();
        var caller = backends.Authenticate(context);
        if (caller is null)
        {
            return Problems.From(BrokerErrors.BackendUnauthenticated);
        }

        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        if (!caller.MayRead(provider))
        {
            return Problems.From(BrokerErrors.BackendForbidden(provider));
        }

        var userId = context.Request.Query["userId"].ToString();
        if (!UserIds.IsValid(userId) || context.Request.Query["userId"].Count != 1)
        {
            return Problems.From(BrokerErrors.InvalidParameter("userId", "must name the platform user exactly once (letters, digits, . _ @ + -, at most 128)"));
        }

        if (accountId.Length > 256 || accountId.Any(char.IsControl))
        {
            return Problems.From(BrokerErrors.InvalidParameter("accountId", "must be at most 256 printable characters"));
        }

        var (credential, error) = await credentials.GetAsync(caller.Name, userId, provider, accountId, forceRefresh, ct);
        return error is not null ? Problems.From(error) : TypedResults.Ok(credential);
    }
}
