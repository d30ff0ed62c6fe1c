using Azure.Core;

namespace OAuthBroker.Storage.Tables;

/// <summary>Pipeline options of <see cref="TableClient"/> (retries, diagnostics, transport).</summary>
public sealed class TableClientOptions : ClientOptions
{
    /// <summary>
    /// REST version sent as <c>x-ms-version</c>. 2019-02-02 is the first with Entra ID (bearer) auth for tables
    /// and is accepted by Azurite without <c>--skipApiVersionCheck</c>.
    /// </summary>
    public string ServiceVersion { get; set; } = "2019-02-02";

    public TableClientOptions()
    {
        // Storage's own guidance: exponential backoff on 503 Server Busy / 500 Operation Timeout.
        Retry.Mode = RetryMode.Exponential;
        Retry.MaxRetries = 3;
        Retry.Delay = TimeSpan.FromMilliseconds(400);
        Retry.MaxDelay = TimeSpan.FromSeconds(8);
        Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        // Logged URLs would otherwise be redacted anyway; the filter values we send are fingerprints, but keep them out.
        Diagnostics.IsLoggingContentEnabled = false;
    }

    /// <summary>Every response's <c>Date</c> feeds <paramref name="clock"/> (the lease clock).</summary>
    public TableClientOptions WithServerClock(TableServerClock clock)
    {
        AddPolicy(new TableServerClock.DatePolicy(clock), HttpPipelinePosition.PerRetry);
        return this;
    }
}
