namespace OAuthBroker.Providers;

/// <summary>Builds an RFC 3986 query string (values percent-encoded, spaces as %20).</summary>
public static class QueryString
{
    public static string Build(params (string Name, string Value)[] parameters) =>
        string.Join('&', parameters.Select(p => Uri.EscapeDataString(p.Name) + "=" + Uri.EscapeDataString(p.Value)));

    /// <summary>Appends parameters to a URL that may already carry a query.</summary>
    public static Uri Append(Uri url, params (string Name, string Value)[] parameters)
    {
        var separator = string.IsNullOrEmpty(url.Query) ? "?" : "&";
        var withoutFragment = url.GetLeftPart(UriPartial.Query);
        return new Uri(withoutFragment + separator + Build(parameters) + url.Fragment);
    }
}
