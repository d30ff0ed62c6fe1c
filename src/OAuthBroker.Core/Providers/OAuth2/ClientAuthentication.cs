using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace OAuthBroker.Providers.OAuth2;

/// <summary>How the broker authenticates to a token, revocation or introspection endpoint.</summary>
public enum ClientAuthenticationMethod
{
    /// <summary>RFC 6749 §2.3.1: HTTP Basic with id and secret form-urlencoded first, then base64.</summary>
    ClientSecretBasic,
    /// <summary>RFC 6749 §2.3.1: <c>client_id</c> and <c>client_secret</c> in the form body.</summary>
    ClientSecretPost,
    /// <summary>
    /// HTTP Basic over the raw <c>id:secret</c>, without the form-encoding step: what BuiltByBit's pre-encoded header on a
    /// token's Details page is reported to be (its secrets may contain '/', which the RFC form would turn into %2F).
    /// </summary>
    ClientSecretBasicRaw,
}

public static class ClientAuthentication
{
    /// <summary>Adds client authentication to a form request (header or body fields).</summary>
    public static void Apply(HttpRequestMessage request, List<KeyValuePair<string, string>> form, ClientAuthenticationMethod method, string clientId, string clientSecret)
    {
        switch (method)
        {
            case ClientAuthenticationMethod.ClientSecretPost:
                form.Add(new("client_id", clientId));
                form.Add(new("client_secret", clientSecret));
                break;
            case ClientAuthenticationMethod.ClientSecretBasicRaw:
                request.Headers.Authorization = Basic(clientId, clientSecret);
                break;
            default:
                request.Headers.Authorization = Basic(FormEncode(clientId), FormEncode(clientSecret));
                break;
        }
    }

    /// <summary>application/x-www-form-urlencoded encoding of one value (space as '+').</summary>
    public static string FormEncode(string value) => WebUtility.UrlEncode(value);

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
}
