using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Storage.Links;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// Finishes what a writer that stopped between a row's write and its outbox's copy to the log left: follows each stale
/// hint to its row and has the store publish the row's events. A row without events (the write never happened, or was
/// published meanwhile) only loses its hint. A row under a live lease is left to its holder: the holder's next write
/// publishes its events, and a merge of ours would change the row's ETag under it (its next compare-and-swap would
/// fail, a spend it started included). Its hint stays, so a holder that died is followed up once its lease has run out.
/// <para>
/// The hint is best effort (the events table must not stand between a link and its state change), so every
/// <see cref="EventsOptions.OutboxScanInterval"/> an instance also scans the link table for rows still holding events,
/// in at most half the time left to the run (deliveries come after it). It also appends the providers' credentials
/// transitions whose writer stopped before logging them (<see cref="TableProviderCredentialsState"/>).
/// </para>
/// </summary>
public sealed partial class TableOutboxRecovery(
    TableAccountLinkStore links,
    LinkOutbox outbox,
    LinkLeases leases,
    TableProviderCredentialsState providers,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<TableOutboxRecovery> logger) : IEventOutbox
{
    private const int MaxRowsPerPass = 500;

    private long? _lastScan;

    public async Task<int> RecoverAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct)
    {
        var recovered = 0;
        foreach (var (reference, etag) in await outbox.StaleHintsAsync(olderThan, MaxRowsPerPass, ct))
        {
            if (time.GetUtcNow() >= deadline)
            {
                break;
            }

            var link = await links.GetByReferenceAsync(reference, ct);
            if (link is not null && link.IsLeased(leases.Now, leases.Longest))
            {
                continue;
            }

            if (link is { PendingEvents.Count: > 0 })
            {
                if (!await PublishAsync(link, ct))
                {
                    continue;
                }

                recovered++;
            }

            await outbox.RemoveHintAsync(reference, etag, ct);
        }

        recovered += await providers.RecoverAsync(olderThan, ct);
        return recovered + await ScanAsync(olderThan, deadline, ct);
    }

    /// <summary>Rows holding events that no hint leads to (or that the hint pass did not reach), once per interval.</summary>
    private async Task<int> ScanAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct)
    {
        if (_lastScan is { } last && time.GetElapsedTime(last) < options.Value.OutboxScanInterval)
        {
            return 0;
        }

        _lastScan = time.GetTimestamp();
        var budget = (deadline - time.GetUtcNow()) / 2;
        if (budget <= TimeSpan.Zero)
        {
            return 0;
        }

        using var scan = CancellationTokenSource.CreateLinkedTokenSource(ct);
        scan.CancelAfter(budget);
        var recovered = 0;
        try
        {
            foreach (var link in await links.WithPendingEventsAsync(olderThan, MaxRowsPerPass, scan.Token))
            {
                if (!link.IsLeased(leases.Now, leases.Longest) && await PublishAsync(link, scan.Token))
                {
                    recovered++;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The scan's share of the run is spent; the next interval starts again.
        }

        return recovered;
    }

    private async Task<bool> PublishAsync(AccountLink link, CT ct)
    {
        var published = await links.PublishAsync(link, ct);
        if (published.PendingEvents.Count > 0)
        {
            return false;
        }

        LogRecovered(logger, link.ProviderId, link.PendingEvents.Count);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered {Count} event(s) of a {ProviderId} link whose writer stopped before recording them in the log")]
    private static partial void LogRecovered(ILogger logger, string providerId, int count);
}
