using System.Text;

namespace OAuthBroker.Sandbox.Pages;

/// <summary>The user and password of an HTTP Basic Authorization header, as sent (no form-decoding).</summary>
public static class BasicCredentials
{
    public static bool TryRead(HttpRequest request, out string user, out string password)
    {
        user = password = "";
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
        }
        catch (FormatException)
        {
            return false;
        }

        var separator = decoded.IndexOf(':', StringComparison.Ordinal);
        if (separator < 0)
        {
            return false;
        }

        user = decoded[..separator];
        password = decoded[(separator + 1)..];
        return true;
    }
}
