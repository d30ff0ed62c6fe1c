namespace OAuthBroker.Providers;

public static class Endpoint
{
    /// <summary>
    /// Appends a documented path to a configured base URL, keeping any path the base has (a sandbox or proxy
    /// may serve a provider under a prefix; <c>new Uri(base, "/x")</c> would drop it).
    /// </summary>
    public static Uri Combine(Uri baseUrl, string path) =>
        new(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + path.TrimStart('/'));
}
