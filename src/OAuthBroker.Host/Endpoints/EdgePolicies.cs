using System.Threading.RateLimiting;
using OAuthBroker.Errors;
using OAuthBroker.Flows;
using OAuthBroker.Host.FunctionsHost;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// What protects the edge: CORS only for the configured frontend origins (with credentials, for the browser-binding
/// cookie), and a per-client-address rate limit on the endpoints anyone can call. Under the Functions host on Flex
/// Consumption the platform answers CORS preflights itself from its own settings (infra sets them to the same origins);
/// see docs/security.md.
/// </summary>
public static class EdgePolicies
{
    public const string FrontendCors = "frontends";
    public const string AnonymousRateLimit = "anonymous";

    public static void AddEdgePolicies(this WebApplicationBuilder builder)
    {
        var broker = builder.Configuration.GetSection(BrokerOptions.SectionName).Get<BrokerOptions>() ?? new BrokerOptions();
        var origins = broker.AllowedReturnOrigins
            .Select(o => ReturnUrlPolicy.TryParseOrigin(o, out var origin) ? origin : null)
            .OfType<string>()
            .ToArray();
        builder.Services.AddCors(cors => cors.AddPolicy(FrontendCors, policy => policy
            .WithOrigins(origins)
            .AllowCredentials()
            .WithMethods("GET", "POST", "DELETE")
            .WithHeaders("Authorization", "Content-Type", "Accept")
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));

        var clientHeader = ClientAddressOptions.HeaderFor(builder.Configuration, FunctionsHostIntegration.IsUnderFunctionsHost(builder.Configuration));
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.OnRejected = async (context, ct) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                await Problems.From(new BrokerError("rate_limited", 429, "Too many requests",
                    "This client sent too many requests to the broker's public endpoints; retry after a minute.")).ExecuteAsync(context.HttpContext);
            };
            limiter.AddPolicy(AnonymousRateLimit, http => RateLimitPartition.GetFixedWindowLimiter(ClientAddress.Partition(http, clientHeader), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = broker.AnonymousRequestsPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));
        });
    }
}
