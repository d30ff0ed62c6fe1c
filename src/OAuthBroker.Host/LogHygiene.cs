namespace OAuthBroker.Host;

/// <summary>
/// Keeps URLs with codes and state out of the logs. These framework categories log full request or outbound
/// URLs at Information/Debug (the callback URL carries <c>code</c> and <c>state</c>), so they are held at
/// Warning whatever the configuration says.
/// </summary>
public static class LogHygiene
{
    public static readonly string[] UrlLoggingCategories =
    [
        "Microsoft.AspNetCore.Hosting.Diagnostics",
        "Microsoft.AspNetCore.HttpLogging",
        "Microsoft.AspNetCore.Http.Result",
        "Microsoft.AspNetCore.Routing",
        "System.Net.Http.HttpClient",
        "Azure.Core",
        "Azure.Identity",
    ];

    public static void Apply(ILoggingBuilder logging)
    {
        foreach (var category in UrlLoggingCategories)
        {
            logging.AddFilter(category, LogLevel.Warning);
        }
    }
}
