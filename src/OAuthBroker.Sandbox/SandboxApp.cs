using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using OAuthBroker.Sandbox.BuiltByBit;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Sandbox.Oidc;
using OAuthBroker.Sandbox.Pages;
using OAuthBroker.Sandbox.Tokens;
using OAuthBroker.Sandbox.WhiteBit;

namespace OAuthBroker.Sandbox;

/// <summary>Builds the sandbox web application (used by Program, the local environment and the tests).</summary>
public static class SandboxApp
{
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        // Its own file name: the local environment loads the broker and the sandbox from one output folder.
        // Inserted first, so environment variables and command-line arguments still override it.
        builder.Configuration.Sources.Insert(0, new JsonConfigurationSource
        {
            FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
            Path = "sandbox.settings.json",
            Optional = true,
        });
        builder.Services.Configure<SandboxOptions>(builder.Configuration.GetSection(SandboxOptions.SectionName));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<HmacJwt>();
        builder.Services.AddSingleton<IssuedSecrets>();
        builder.Services.AddSingleton<FaultInjector>();
        builder.Services.AddSingleton<BybitSandboxState>();
        builder.Services.AddSingleton<StandardGrants>();
        builder.Services.AddSingleton<BuiltByBitRateLimits>();
        builder.Services.AddSingleton<RsaSigner>();
        builder.Services.AddSingleton<WhiteBitSandboxEndpoints.State>();
        // The provider's URLs carry codes and state; keep request-URL logging off here too.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseFaults();
        app.MapGet("/", () => TypedResults.Content("OAuth broker provider sandbox: Bybit under /bybit, BuiltByBit under /builtbybit, WhiteBIT under /whitebit, OpenID Connect issuers under /oidc/{tenant}.", "text/plain"));
        app.MapBybitSandbox();
        app.MapBuiltByBitSandbox();
        app.MapOidcSandbox();
        app.MapWhiteBitSandbox();
        return app;
    }
}
