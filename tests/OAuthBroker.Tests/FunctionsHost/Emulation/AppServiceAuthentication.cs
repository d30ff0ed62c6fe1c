using Microsoft.AspNetCore.Http;

namespace OAuthBroker.Tests.FunctionsHost.Emulation;

/// <summary>
/// App Service Authentication ("Easy Auth") in front of the app, as far as the app can see it: for a signed-in browser
/// the platform injects <c>X-MS-CLIENT-PRINCIPAL-ID</c>, <c>-NAME</c> and <c>-IDP</c>, and it never lets a client's own
/// <c>X-MS-CLIENT-PRINCIPAL*</c> or <c>X-MS-TOKEN-*</c> headers through (Microsoft Learn, "Work with user identities in
/// Azure App Service authentication": App Service passes user claims in these request headers, which external requests
/// are not allowed to set). With authentication on, the platform also sets <c>WEBSITE_AUTH_ENABLED=True</c> for the app
/// (Learn "Environment variables and app settings reference"). The sign-in leg itself (<c>/.auth/login/{idp}</c> and its
/// session cookie) is not imitated: the emulation takes a named cookie of the test browser as that session.
/// </summary>
public sealed record AppServiceAuthentication(string SessionCookie, string IdentityProvider)
{
    public void Apply(HttpContext context)
    {
        var headers = context.Request.Headers;
        foreach (var name in headers.Keys.Where(k => k.StartsWith("X-MS-CLIENT-PRINCIPAL", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("X-MS-TOKEN-", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            headers.Remove(name);
        }

        if (context.Request.Cookies[SessionCookie] is { Length: > 0 } user)
        {
            headers["X-MS-CLIENT-PRINCIPAL-ID"] = user;
            headers["X-MS-CLIENT-PRINCIPAL-NAME"] = user;
            headers["X-MS-CLIENT-PRINCIPAL-IDP"] = IdentityProvider;
        }
    }
}
