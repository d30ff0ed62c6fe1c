namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// The app setting the timer function's schedule comes from (<c>RefreshTokens/function.json</c>:
/// <c>"schedule": "%REFRESH_SCHEDULE%"</c>). The host resolves <c>%name%</c> with the WebJobs <c>DefaultNameResolver</c>,
/// which is <c>_configuration[name]</c> (azure-webjobs-sdk <c>src/Microsoft.Azure.WebJobs.Host/DefaultNameResolver.cs:27-35</c>),
/// against the job host's configuration, whose environment variables come from the standard provider
/// (<c>Hosting/WebJobsHostBuilderExtensions.cs:159-171</c>), which stores <c>A__B</c> as <c>A:B</c>. A name with
/// <c>__</c> therefore never resolves (azure-functions-host #10246, #8649), and one with <c>:</c> cannot be an app
/// setting on Linux: the name is flat. The app reads it too, when <c>Refresh:Schedule</c> is not set.
/// </summary>
public static class RefreshScheduleSetting
{
    public const string Name = "REFRESH_SCHEDULE";

    public static void ApplyAsFallback(ConfigurationManager configuration)
    {
        if (string.IsNullOrEmpty(configuration["Refresh:Schedule"]) && configuration[Name] is { Length: > 0 } schedule)
        {
            configuration.AddInMemoryCollection([new KeyValuePair<string, string?>("Refresh:Schedule", schedule)]);
        }
    }
}
