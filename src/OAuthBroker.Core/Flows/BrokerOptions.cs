using Microsoft.Extensions.Options;
using OAuthBroker.Providers;

namespace OAuthBroker.Flows;

/// <summary>Broker-wide settings (section <c>Broker</c>).</summary>
public sealed class BrokerOptions
{
    public const string SectionName = "Broker";

    /// <summary>
    /// Public origin of the broker, e.g. <c>https://myapp.azurewebsites.net</c>. Redirect URIs are built from it,
    /// never from the request's Host header, so they match the registered ones exactly (RFC 9700 §2.1). Required.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// Origins (scheme://host[:port]) a flow may return to, matched exactly. Empty means only the broker's own origin.
    /// </summary>
    public List<string> AllowedReturnOrigins { get; set; } = [];

    /// <summary>
    /// Exact URLs (scheme, host, port, path and query, no fragment) of the frontend pages that complete a flow started
    /// with a completion challenge, each on the broker's origin or one of <see cref="AllowedReturnOrigins"/>. Such a
    /// flow delivers its completion code to the return page, and the verifier, not the browser, proves the completing
    /// caller; so its return page must be one the platform registered, whose script completes at once as the signed-in
    /// user (RFC 9700 §2.1, exact matching, applied to the return page). Empty: start tickets with a challenge are refused.
    /// </summary>
    public List<string> CompletionPages { get; set; } = [];

    /// <summary>Where a flow returns when the caller gives no returnUrl. Default: the broker's <c>/</c>.</summary>
    public string? DefaultReturnUrl { get; set; }

    /// <summary>How long a started flow may take to come back. Default 10 minutes (Bybit's code lifetime).</summary>
    public TimeSpan FlowLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long a finished provider leg waits for the user's confirmation (the completion step) before it is
    /// discarded and revoked. Default 5 minutes: a frontend confirms within a second of landing on its return page.
    /// </summary>
    public TimeSpan PendingLinkLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a confirmed link may wait for its provider (<see cref="Links.LinkStatus.PendingKey"/>: WhiteBIT's key and
    /// its 423 lock) before scheduled work gives up, removes what the flow created there and asks the user to connect
    /// again. Default 20 minutes: WhiteBIT's key wait (10 min) and 423 budget (5 min) with room for the schedule.
    /// </summary>
    public TimeSpan PendingKeyLifetime { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Requests per minute one client address may send to the anonymous endpoints (authorize, callback, providers). Default 120.</summary>
    public int AnonymousRequestsPerMinute { get; set; } = 120;

    /// <summary>Timeout of one call to a provider. Default 15 seconds.</summary>
    public TimeSpan ProviderTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public Uri PublicBase => Derived().Base;

    /// <summary>Only for providers the catalogue knows: the URIs are kept, one per provider.</summary>
    public Uri CallbackUri(string providerId) =>
        Derived().Callbacks.GetOrAdd(providerId, static (id, publicBase) => new Uri(publicBase, $"api/oauth/{id}/callback"), Derived().Base);

    /// <summary>
    /// URIs built from <see cref="PublicBaseUrl"/> once rather than on every request (authorize needs them several times),
    /// and built again if the setting changes. A method, not a property: the configuration binding source generator
    /// would otherwise try to bind it.
    /// </summary>
    private DerivedUris Derived() => _derived is { } derived && ReferenceEquals(derived.Source, PublicBaseUrl) ? derived : _derived = new DerivedUris(PublicBaseUrl!);

    private DerivedUris? _derived;

    private sealed class DerivedUris(string source)
    {
        public string Source { get; } = source;
        public Uri Base { get; } = new(source.TrimEnd('/') + "/");
        public System.Collections.Concurrent.ConcurrentDictionary<string, Uri> Callbacks { get; } = new(StringComparer.Ordinal);
    }

    internal sealed class Validator : IValidateOptions<BrokerOptions>
    {
        public ValidateOptionsResult Validate(string? name, BrokerOptions options)
        {
            var errors = new List<string>();
            if (!EndpointRules.IsAcceptableEndpoint(options.PublicBaseUrl, out var baseUri) || baseUri!.AbsolutePath != "/" || !string.IsNullOrEmpty(baseUri.Query))
            {
                errors.Add($"{SectionName}:PublicBaseUrl must be an absolute https origin with no path (http only for loopback), e.g. https://broker.example.com.");
            }

            foreach (var origin in options.AllowedReturnOrigins)
            {
                if (!ReturnUrlPolicy.TryParseOrigin(origin, out _))
                {
                    errors.Add($"{SectionName}:AllowedReturnOrigins entry '{origin}' is not an origin (scheme://host[:port], https unless loopback).");
                }
            }

            foreach (var page in options.CompletionPages)
            {
                if (!ReturnUrlPolicy.IsAcceptableCompletionPage(page, options))
                {
                    errors.Add($"{SectionName}:CompletionPages entry '{page}' must be an absolute URL without user information or fragment (https unless loopback), " +
                        $"on the broker's origin or one of {SectionName}:AllowedReturnOrigins.");
                }
            }

            if (options.FlowLifetime <= TimeSpan.Zero || options.FlowLifetime > TimeSpan.FromMinutes(30))
            {
                errors.Add($"{SectionName}:FlowLifetime must be between 0 and 30 minutes.");
            }

            if (options.PendingLinkLifetime < TimeSpan.FromSeconds(30) || options.PendingLinkLifetime > TimeSpan.FromMinutes(15))
            {
                errors.Add($"{SectionName}:PendingLinkLifetime must be between 30 seconds and 15 minutes.");
            }

            if (options.PendingKeyLifetime < TimeSpan.FromMinutes(1) || options.PendingKeyLifetime > TimeSpan.FromHours(2))
            {
                errors.Add($"{SectionName}:PendingKeyLifetime must be between 1 minute and 2 hours.");
            }

            if (options.AnonymousRequestsPerMinute < 1)
            {
                errors.Add($"{SectionName}:AnonymousRequestsPerMinute must be at least 1.");
            }

            if (options.ProviderTimeout <= TimeSpan.Zero || options.ProviderTimeout > TimeSpan.FromSeconds(100))
            {
                errors.Add($"{SectionName}:ProviderTimeout must be between 0 and 100 seconds.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
