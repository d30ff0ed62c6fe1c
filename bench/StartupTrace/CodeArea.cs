namespace OAuthBroker.Bench.StartupTrace;

/// <summary>Which part of the application a jitted method or a loaded assembly belongs to, by namespace.</summary>
internal static class CodeArea
{
    private static readonly (string Prefix, string Area)[] Areas =
    [
        ("OAuthBroker.Providers", "broker: provider catalogue"),
        ("OAuthBroker", "broker: other"),
        ("Program", "entry point (Program)"),
        ("BareApi", "bare API"),
        ("dynamicClass", "reflection invoke stubs (configuration binding, options)"),
        ("Microsoft.Extensions.Configuration", "configuration (load + binding)"),
        ("Microsoft.Extensions.Options", "options (+ validation)"),
        ("Microsoft.Extensions.DependencyInjection", "dependency injection"),
        ("Microsoft.Extensions.Logging", "logging"),
        ("Microsoft.Extensions", "other Microsoft.Extensions (hosting, http)"),
        ("Azure.Identity", "Azure.Identity / MSAL"),
        ("Microsoft.Identity.Client", "Azure.Identity / MSAL"),
        ("Azure", "Azure SDK (Core, Key Vault)"),
        ("System.ClientModel", "Azure SDK (Core, Key Vault)"),
        ("Microsoft.IdentityModel", "IdentityModel (JWT bearer)"),
        ("System.IdentityModel", "IdentityModel (JWT bearer)"),
        ("Microsoft.AspNetCore.Server.Kestrel", "Kestrel"),
        ("Microsoft.AspNetCore.Authentication", "ASP.NET Core authentication"),
        ("Microsoft.AspNetCore", "ASP.NET Core (hosting, routing, middleware)"),
        ("System.Threading.RateLimiting", "rate limiting"),
        ("System.Text.Json", "System.Text.Json"),
        ("System.Text.RegularExpressions", "regular expressions"),
        ("NCrontab", "NCrontab"),
        ("System", "runtime / BCL (generic instantiations, stubs)"),
        ("Internal", "runtime / BCL (generic instantiations, stubs)"),
        ("Interop", "runtime / BCL (generic instantiations, stubs)"),
    ];

    public static string Of(string name) =>
        Areas.FirstOrDefault(a => name.StartsWith(a.Prefix, StringComparison.Ordinal)).Area ?? "other";
}
