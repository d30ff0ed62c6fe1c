using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OAuthBroker.Host;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// Another broker instance in this process, on the fixture's storage, vault and providers (as a scaled-out function
/// app would have), with its own clock (another machine's) and its own settings on top of the fixture's. Its logs go
/// to the fixture's capture, so the log-hygiene checks see them too.
/// </summary>
public sealed class BrokerInstance : IAsyncDisposable
{
    /// <summary>
    /// A lease budget small enough for tests to wait out: 1 s pacing + 2 × 2 s provider calls + one 2 s vault attempt
    /// + 2 s clock allowance = 9 s, within a 10 s lease.
    /// </summary>
    public static readonly string[] ShortBudget =
    [
        "--Refresh:LeaseDuration=00:00:10",
        "--Refresh:RefreshCallTimeout=00:00:02",
        "--Refresh:PacingMaxWait=00:00:01",
        "--Refresh:ClockAllowance=00:00:02",
        "--KeyVault:NetworkTimeout=00:00:02",
        "--KeyVault:MaxRetries=0",
    ];

    private BrokerInstance(WebApplication app, Uri uri, ManualClock clock)
    {
        App = app;
        Uri = uri;
        Clock = clock;
    }

    public WebApplication App { get; }
    public Uri Uri { get; }
    public ManualClock Clock { get; }

    public T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <param name="clock">This instance's clock; default: real time, independent of the fixture's.</param>
    /// <param name="settings">Extra <c>--Key=Value</c> settings, applied last.</param>
    public static Task<BrokerInstance> StartAsync(BrokerEnvironmentFixture fixture, ManualClock? clock = null, params string[] settings) =>
        StartAsync(fixture, clock, _ => { }, settings);

    /// <param name="services">Last-word service changes (a seam around one of the instance's parts, e.g. its link store).</param>
    public static async Task<BrokerInstance> StartAsync(BrokerEnvironmentFixture fixture, ManualClock? clock, Action<IServiceCollection> services, params string[] settings)
    {
        var app = Create(fixture, clock ?? new ManualClock(), out var uri, services, settings);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new BrokerInstance(app, uri, (ManualClock)app.Services.GetRequiredService<TimeProvider>());
    }

    /// <summary>Builds (without starting) an instance: start-up validation runs on <c>StartAsync</c>.</summary>
    public static WebApplication Create(BrokerEnvironmentFixture fixture, ManualClock clock, out Uri uri, params string[] settings) =>
        Create(fixture, clock, out uri, _ => { }, settings);

    private static WebApplication Create(BrokerEnvironmentFixture fixture, ManualClock clock, out Uri uri, Action<IServiceCollection> services, string[] settings)
    {
        var port = FreePort.Next();
        uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/"));
        var arguments = fixture.Environment.BrokerArguments
            .Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal))
            .Append(string.Create(CultureInfo.InvariantCulture, $"--urls=http://127.0.0.1:{port}"))
            .Concat(settings)
            .ToArray();
        return BrokerApp.Create(arguments, builder =>
        {
            builder.Logging.AddProvider(fixture.Logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Services.AddSingleton<TimeProvider>(clock);
            services(builder.Services);
        });
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await App.StopAsync(timeout.Token);
        await App.DisposeAsync();
    }
}
