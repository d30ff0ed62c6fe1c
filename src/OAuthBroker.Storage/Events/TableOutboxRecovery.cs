using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Events;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Storage.Links;
using OAuthBroker.Storage.Tables;

namespace OAuthBroker.Storage.Events;

/// <summary>
/// Finishes what a writer that stopped between a row's write and its outbox's copy to the log left: follows each stale
/// hint to its row and has the store publish the row's events. A row without events (the write never happened, or was
/// published meanwhile) only loses its hint. A row under a live lease is left to its holder: the holder's next write
/// publishes its events, and a merge of ours would change the row's ETag under it (its next compare-and-swap would
/// fail, a spend it started included). Its hint stays, so a holder that died is followed up once its lease has run out.
/// <para>
/// The hint is best effort (the events table must not stand between a link and its state change), so the runs also scan
/// the link table for rows still holding events, in at most half the time left to each run (deliveries come after it).
/// The scan publishes a page at a time and keeps its place in shared state (<see cref="IBrokerStateStore"/>, as the
/// orphaned-credential janitor keeps its place in the vault listing), so a table too large for one run is walked to its
/// end over several, by whichever instance runs next; the next pass starts <see cref="EventsOptions.OutboxScanInterval"/>
/// after a pass reached the end. It also appends the providers' credentials transitions whose writer stopped before
/// logging them (<see cref="TableProviderCredentialsState"/>).
/// </para>
/// </summary>
public sealed partial class TableOutboxRecovery(
    TableAccountLinkStore links,
    LinkOutbox outbox,
    LinkLeases leases,
    TableProviderCredentialsState providers,
    IBrokerStateStore state,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<TableOutboxRecovery> logger) : IEventOutbox
{
    /// <summary>The shared state key of the scan's place (<see cref="OutboxScanPosition"/>).</summary>
    public const string ScanStateKey = "outbox-scan";

    private const int MaxRowsPerPass = 500;

    /// <summary>
    /// The hinted rows, the providers' transitions, then the scan. A failure in one (storage throttled, a row this version
    /// cannot read) is logged and ends that part only: the run's deliveries come after recovery and must not wait on it.
    /// </summary>
    public async Task<int> RecoverAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct)
    {
        var recovered = await FollowHintsAsync(olderThan, deadline, ct);
        try
        {
            recovered += await providers.RecoverAsync(olderThan, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogPartFailed(logger, "provider transitions", ex.GetType().Name);
        }

        return recovered + await ScanAsync(olderThan, deadline, ct);
    }

    private async Task<int> FollowHintsAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct)
    {
        var recovered = 0;
        try
        {
            foreach (var (reference, etag) in await outbox.StaleHintsAsync(olderThan, MaxRowsPerPass, ct))
            {
                if (time.GetUtcNow() >= deadline)
                {
                    break;
                }

                AccountLink? link;
                try
                {
                    link = await links.GetByReferenceAsync(reference, ct);
                }
                catch (Exception ex) when (UnreadableRow.Is(ex))
                {
                    // Note: a row this version cannot read keeps its hint (an operator can mend the row); the pass moves on.
                    LogUnreadable(logger, 1);
                    continue;
                }

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
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogPartFailed(logger, "hinted rows", ex.GetType().Name);
        }

        return recovered;
    }

    /// <summary>
    /// Rows holding events that no hint leads to (or that the hint pass did not reach): the next pages of the current pass,
    /// or of a new one once the last pass ended <see cref="EventsOptions.OutboxScanInterval"/> ago. Each page query is
    /// cancelled at the scan's share of the budget, so a slow page (the service takes up to 30 s with scheduling, Query
    /// Timeout and Pagination, learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination) cannot hold the
    /// run's deliveries much past it.
    /// </summary>
    private async Task<int> ScanAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct)
    {
        var recovered = 0;
        try
        {
            var settings = options.Value;
            var position = OutboxScanPosition.Parse(await state.GetAsync(ScanStateKey, ct));
            if (position.CompletedAt is { } completed && leases.Now - completed < settings.OutboxScanInterval)
            {
                return 0;
            }

            var scanDeadline = time.GetUtcNow() + (deadline - time.GetUtcNow()) / 2;
            var (next, writtenBefore) = position.Next is { } resume ? (resume, position.WrittenBefore!.Value) : (null, olderThan);
            while (scanDeadline - time.GetUtcNow() is var remaining && remaining > TimeSpan.Zero)
            {
                // One reading of the clock for both the test and the timer: a second one could come out negative (the
                // constructor throws) or at -1 ms, which it takes as "never".
                using var budget = new CancellationTokenSource(remaining, time);
                using var page = CancellationTokenSource.CreateLinkedTokenSource(ct, budget.Token);
                var (rows, unreadable, following) = await links.PendingEventsPageAsync(writtenBefore, next, settings.OutboxScanPageSize, page.Token);
                if (unreadable > 0)
                {
                    LogUnreadable(logger, unreadable);
                }

                foreach (var link in rows)
                {
                    if (time.GetUtcNow() >= scanDeadline)
                    {
                        // Note: only a whole page counts as done; this one is read again by the next run (its published rows
                        // no longer match).
                        return recovered;
                    }

                    if (!link.IsLeased(leases.Now, leases.Longest) && await PublishAsync(link, ct))
                    {
                        recovered++;
                    }
                }

                next = following;
                if (next is null)
                {
                    await state.SetAsync(ScanStateKey, OutboxScanPosition.Completed(leases.Now).Format(), ct);
                    break;
                }

                await state.SetAsync(ScanStateKey, OutboxScanPosition.Within(next, writtenBefore).Format(), ct);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Note: the saved place moves only after a whole page, so this page is read again by the next run.
            LogPartFailed(logger, "outbox scan", ex.GetType().Name);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox recovery: {Part} failed with {ExceptionType}; the next run tries again")]
    private static partial void LogPartFailed(ILogger logger, string part, string exceptionType);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox recovery: skipped {Count} link row(s) holding events that this version cannot read; their events stay unpublished until the rows are mended")]
    private static partial void LogUnreadable(ILogger logger, int count);
}
