using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace OAuthBroker.Events;

/// <summary>Link events: where they are delivered and how hard the broker tries (section <c>Events</c>).</summary>
public sealed partial class EventsOptions
{
    public const string SectionName = "Events";

    /// <summary>The platform's webhook endpoints by name (<c>[a-z0-9-]{1,32}</c>). None: events are only listed.</summary>
    public Dictionary<string, WebhookEndpointOptions> Endpoints { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How old an event must be before it is listed or delivered. Default 1 minute: longer than a write to the log can
    /// take, so nothing is recorded later at a place a reader has passed.
    /// </summary>
    public TimeSpan ListingDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long an outbox hint may stand before the delivery run takes its events over (the writer died). Default 2 minutes.</summary>
    public TimeSpan OutboxRecoveryAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long after a full pass the delivery runs (of any instance) start the next scan of the link table for rows
    /// holding events without a hint (the hint is best effort: its write failed and the writer stopped before
    /// publishing). A pass reads the whole table on the service's side, so seldom; one that does not fit in a run goes on
    /// where it stopped in the next runs. Default 1 hour.
    /// </summary>
    public TimeSpan OutboxScanInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows with events asked for per page of that scan (the service's maximum is 1,000). Default 1,000.</summary>
    public int OutboxScanPageSize { get; set; } = 1000;

    /// <summary>One delivery attempt's time limit. Default 10 seconds.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts in flight per endpoint. Default 4. Endpoints never wait for each other.</summary>
    public int ConcurrencyPerEndpoint { get; set; } = 4;

    /// <summary>Delay after the first failed attempt; doubled after each further one, with jitter. Default 5 seconds.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest delay between two attempts. Default 4 hours.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(4);

    /// <summary>How long an event is retried before it is dead-lettered. Default 27 hours; at least one day.</summary>
    public TimeSpan DeadLetterAfter { get; set; } = TimeSpan.FromHours(27);

    /// <summary>
    /// Development only: a PEM certificate trusted for webhook receivers besides the system's trust store (the local
    /// run's receiver uses a self-signed one, like the local Key Vault endpoint). Refused outside Development.
    /// </summary>
    public string? LocalCertificatePath { get; set; }

    /// <summary>Events taken from the log per endpoint per run. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    [GeneratedRegex("^[a-z0-9-]{1,32}$")]
    private static partial Regex EndpointName();

    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex VaultSecretName();

    internal sealed class Validator : IValidateOptions<EventsOptions>
    {
        public ValidateOptionsResult Validate(string? name, EventsOptions options)
        {
            var errors = new List<string>();
            foreach (var (endpoint, settings) in options.Endpoints)
            {
                var prefix = $"{SectionName}:Endpoints:{endpoint}";
                if (!EndpointName().IsMatch(endpoint))
                {
                    errors.Add($"{prefix}: endpoint names are 1–32 of a-z, 0-9 and -.");
                }

                if (!Uri.TryCreate(settings.Url, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps || url.UserInfo.Length > 0)
                {
                    errors.Add($"{prefix}:Url must be an absolute https URL without user information.");
                }

                if (settings.SecretName is null || !VaultSecretName().IsMatch(settings.SecretName))
                {
                    errors.Add($"{prefix}:SecretName must name a Key Vault secret (1–127 of 0-9, A-Z, a-z and -).");
                }

                foreach (var type in settings.EventTypes.Where(t => !LinkEventTypes.All.Contains(t)))
                {
                    errors.Add($"{prefix}:EventTypes: '{type}' is not an event type ({string.Join(", ", LinkEventTypes.All)}).");
                }
            }

            if (options.LocalCertificatePath is not null && !File.Exists(options.LocalCertificatePath))
            {
                errors.Add($"{SectionName}:LocalCertificatePath '{options.LocalCertificatePath}' does not exist.");
            }

            if (options.DeadLetterAfter < TimeSpan.FromDays(1))
            {
                errors.Add($"{SectionName}:DeadLetterAfter must be at least one day (receivers may be down for a while).");
            }

            if (options.RetryBaseDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryBaseDelay)
            {
                errors.Add($"{SectionName}:RetryBaseDelay must be positive and at most RetryMaxDelay.");
            }

            if (options.AttemptTimeout <= TimeSpan.Zero || options.ConcurrencyPerEndpoint is < 1 or > 64 || options.BatchSize is < 1 or > 1000)
            {
                errors.Add($"{SectionName}: AttemptTimeout must be positive, ConcurrencyPerEndpoint 1–64, BatchSize 1–1000.");
            }

            if (options.OutboxScanPageSize is < 1 or > 1000)
            {
                // Note: the Table service answers at most 1,000 entities per page (Query Timeout and Pagination).
                errors.Add($"{SectionName}:OutboxScanPageSize must be 1–1000.");
            }

            if (options.ListingDelay < TimeSpan.Zero || options.OutboxRecoveryAfter <= TimeSpan.Zero || options.OutboxScanInterval <= TimeSpan.Zero)
            {
                errors.Add($"{SectionName}: ListingDelay must not be negative, OutboxRecoveryAfter and OutboxScanInterval must be positive.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
