using Microsoft.Extensions.Options;

namespace OAuthBroker.Storage;

/// <summary>Where links and flows are stored (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>
    /// Table service URI for managed-identity access, e.g. <c>https://acct.table.core.windows.net</c> (Azure).
    /// Either this or <see cref="ConnectionString"/>.
    /// </summary>
    public string? TableServiceUri { get; set; }

    /// <summary>A storage connection string with an account key, e.g. Azurite's. Either this or <see cref="TableServiceUri"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Table of account links. Default <c>AccountLinks</c>.</summary>
    public string LinksTable { get; set; } = "AccountLinks";

    /// <summary>Table of open authorization flows. Default <c>AuthorizationFlows</c>.</summary>
    public string FlowsTable { get; set; } = "AuthorizationFlows";

    /// <summary>The refresh due index. Default <c>RefreshSchedule</c>.</summary>
    public string ScheduleTable { get; set; } = "RefreshSchedule";

    /// <summary>Table of link events: the log, the outbox hints and the webhook delivery queues. Default <c>LinkEvents</c>.</summary>
    public string EventsTable { get; set; } = "LinkEvents";

    internal sealed class Validator : IValidateOptions<StorageOptions>
    {
        public ValidateOptionsResult Validate(string? name, StorageOptions options)
        {
            var errors = new List<string>();
            if (string.IsNullOrWhiteSpace(options.TableServiceUri) == string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                errors.Add($"Set exactly one of {SectionName}:TableServiceUri (managed identity) and {SectionName}:ConnectionString.");
            }

            if (!string.IsNullOrWhiteSpace(options.TableServiceUri) && !Uri.TryCreate(options.TableServiceUri, UriKind.Absolute, out _))
            {
                errors.Add($"{SectionName}:TableServiceUri must be an absolute URI.");
            }

            foreach (var (key, table) in new[] { ("LinksTable", options.LinksTable), ("FlowsTable", options.FlowsTable), ("ScheduleTable", options.ScheduleTable), ("EventsTable", options.EventsTable) })
            {
                if (!Tables.TableNames.IsValid(table))
                {
                    errors.Add($"{SectionName}:{key} must be 3–63 letters and digits, starting with a letter.");
                }
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
