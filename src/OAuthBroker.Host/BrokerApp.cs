using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using OAuthBroker.Host.Backends;
using OAuthBroker.Host.Demo;
using OAuthBroker.Host.Endpoints;
using OAuthBroker.Host.Events;
using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Host.Identity;
using OAuthBroker.Host.OpenApi;
using OAuthBroker.Host.Refresh;
using OAuthBroker.Host.StartupChecks;
using OAuthBroker.Storage;

namespace OAuthBroker.Host;

/// <summary>Builds the broker's web application: used by Program, the local environment and the tests alike.</summary>
public static class BrokerApp
{
    /// <param name="configure">Last-word changes to the builder (tests add log capture or a clock here).</param>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            // The Functions host starts the handler from the script root; settings files sit beside the binary.
            ContentRootPath = AppContext.BaseDirectory,
        });

        var underFunctionsHost = FunctionsHostIntegration.IsUnderFunctionsHost(builder.Configuration);
        builder.UseFunctionsHostPortWhenPresent();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // No endpoint takes a body larger than this; requests are refused before they are read.
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            // Standalone, Kestrel's default line; under the host, what the host may send after re-encoding the query.
            kestrel.Limits.MaxRequestLineSize = underFunctionsHost ? FunctionsHostIntegration.MaxForwardedRequestLine : 8 * 1024;
            if (underFunctionsHost)
            {
                kestrel.Limits.MaxRequestHeadersTotalSize = FunctionsHostIntegration.MaxForwardedHeaders;
            }
        });

        LogHygiene.Apply(builder.Logging);
        if (underFunctionsHost)
        {
            LogHygiene.UseFunctionsHostFormat(builder.Logging);
        }

        RefreshScheduleSetting.ApplyAsFallback(builder.Configuration);

        builder.Services.AddBrokerCore(builder.Configuration);
        builder.Services.AddBrokerStorage(builder.Configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddBrokerOpenApi();
        builder.Services.AddExceptionHandler<BrokerExceptionHandler>();
        builder.Services.Configure<JsonOptions>(json =>
        {
            // Generated code only, no reflection resolver behind it: an answer type missing from the context fails in
            // every build, as it would in the trimmed package (EndpointJsonContext).
            json.SerializerOptions.TypeInfoResolverChain.Clear();
            json.SerializerOptions.TypeInfoResolverChain.Add(EndpointJsonContext.Default);
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower));
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        builder.Services.AddSingleton<BrowserBinding>();
        builder.Services.AddOptions<BackendOptions>().Configure<IConfiguration>((options, configuration) =>
            configuration.GetSection(BackendOptions.SectionName).Bind(options.Clients)).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<BackendOptions>, BackendOptions.Validator>();
        builder.Services.AddSingleton<BackendAuthenticator>();
        builder.Services.AddSingleton<OAuthBroker.Scheduling.IRunCadence, CrontabRunCadence>();

        // Under the host the timer trigger runs the sweep; standalone, the app does, unless Refresh:RunInProcess is false.
        if (!underFunctionsHost && builder.Configuration.GetValue("Refresh:RunInProcess", true))
        {
            builder.Services.AddHostedService<InProcessRefreshScheduler>();
        }
        builder.AddUserAuthentication();
        builder.AddEdgePolicies();
        builder.AddForwardedRequestGuard();
        // Secrets the platform could not fetch, or settings meant for a developer's machine, stop the app at start-up.
        builder.Services.AddSettingsChecks();
        builder.Services.AddCurrentUser(builder.Environment);

        configure?.Invoke(builder);

        var app = builder.Build();
        // Fail at start-up, listing every provider configuration error, not at the first user's click.
        app.Services.GetRequiredService<OAuthBroker.Providers.ProviderCatalog>();
        InProcessRefreshScheduler.Parse(app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OAuthBroker.Refresh.RefreshOptions>>().Value.Schedule);
        app.UseBrokerResponseHeaders();
        app.UseForwardedRequestGuard();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCors();
        app.UseRateLimiter();
        app.UseAuthentication();

        app.MapHealthEndpoints();
        app.MapProviderEndpoints();
        app.WithSingleValuedQueries().MapOAuthEndpoints();
        app.MapLinkEndpoints();
        app.MapCredentialEndpoints();
        app.MapEventEndpoints();
        app.MapBrokerOpenApi();
        if (underFunctionsHost)
        {
            app.MapRefreshTokensFunction();
        }
        if (app.Environment.IsDevelopment())
        {
            app.MapDemo();
        }

        return app;
    }
}
