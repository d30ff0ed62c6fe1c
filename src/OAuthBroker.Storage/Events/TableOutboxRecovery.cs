using Microsoft.Extensions.Logging;
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
/// </summary>
public sealed partial class TableOutboxRecovery(
    TableAccountLinkStore links,
    LinkOutbox outbox,
    LinkLeases leases,
    TimeProvider time,
    ILogger<TableOutboxRecovery> logger) : IEventOutbox
{
    public async Task<int> RecoverAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct)
    {
        var recovered = 0;
        foreach (var (reference, etag) in await outbox.StaleHintsAsync(olderThan, 500, ct))
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
                var published = await links.PublishAsync(link, ct);
                if (published.PendingEvents.Count > 0)
                {
                    continue;
                }

                LogRecovered(logger, link.ProviderId, link.PendingEvents.Count);
                recovered++;
            }

            await outbox.RemoveHintAsync(reference, etag, ct);
        }

        return recovered;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered {Count} event(s) of a {ProviderId} link whose writer stopped before recording them in the log")]
    private static partial void LogRecovered(ILogger logger, string providerId, int count);
}
