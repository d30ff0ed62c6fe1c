using Microsoft.Extensions.Logging.Console;

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

    /// <summary>
    /// Under the Functions host the handler's console is the host's log: each stdout line becomes one host log entry at
    /// Information; each stderr line one at Warning when it contains "warn", else at Error (azure-functions-host
    /// <c>src/WebJobs.Script/Workers/ProcessManagement/WorkerProcess.cs:112-148,198-204</c>; custom handlers use stderr
    /// for errors only, <c>Workers/Http/HttpWorkerDescription.cs:20</c>). So: one line per entry with level ("warn:",
    /// "fail:") and category on it, and warnings and errors on stderr, where the host gives them their level.
    /// </summary>
    public static void UseFunctionsHostFormat(ILoggingBuilder logging)
    {
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.IncludeScopes = false;
            console.TimestampFormat = null;
            console.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        logging.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Warning);
    }
}
