using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using OAuthBroker.Errors;
using OAuthBroker.Flows;
using OAuthBroker.Host.FunctionsHost;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// What protects the edge: CORS only for the configured frontend origins (with credentials, for the browser-binding
/// cookie), and a per-client-address rate limit on the endpoints anyone can call. Under the Functions host on Flex
/// Consumption the platform answers CORS preflights itself from its own settings (infra sets them to the same origins);
/// see docs/security.md. A request with no client address (see <see cref="ClientAddress"/>) is refused, never counted in
/// a bucket it shares with everyone else.
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

        var clientAddress = ClientAddressOptions.SourceFor(builder.Configuration, FunctionsHostIntegration.IsUnderFunctionsHost(builder.Configuration));
        builder.Services.AddOptions<ClientAddressOptions>().BindConfiguration(ClientAddressOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ClientAddressOptions>, ClientAddressOptions.Validator>();
        builder.Services.AddSingleton<UnidentifiedClientAnswers>();
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                if (ClientAddress.Identify(http, clientAddress).Failure is { } failure)
                {
                    await Problems.From(http.RequestServices.GetRequiredService<UnidentifiedClientAnswers>().Answer(failure, clientAddress)).ExecuteAsync(http);
                    return;
                }

                http.Response.Headers.RetryAfter = "60";
                await Problems.From(new BrokerError("rate_limited", 429, "Too many requests",
                    "This client sent too many requests to the broker's public endpoints; retry after a minute.")).ExecuteAsync(http);
            };
            limiter.AddPolicy(AnonymousRateLimit, http => ClientAddress.Identify(http, clientAddress) is { Partition: { } partition }
                ? RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = broker.AnonymousRequestsPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                })
                : RateLimitPartition.Get<string>("unidentified", _ => new RefusingLimiter()));
        });
    }
}
