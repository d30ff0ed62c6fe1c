using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Events;

/// <summary>
/// Delivers the event log to the platform's webhook endpoints, at least once, on every scheduled run (the Functions timer
/// or the in-process scheduler). First it takes over outboxes whose writer stopped (<see cref="IEventOutbox"/>), then
/// every endpoint runs on its own: its queue, its attempts in flight, its time limit per attempt, so one slow or dead
/// receiver never delays another. Nothing starts after the run's deadline; whatever is left waits for the next run.
/// </summary>
public sealed partial class EventDeliveryTask(
    IEventLog log,
    IEventOutbox outbox,
    IDeliveryStore queue,
    IWebhookSecretSource secrets,
    WebhookSender sender,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILeaseClock leases,
    ILogger<EventDeliveryTask> logger) : IHousekeepingTask
{
    public string Name => "event-delivery";

    public async Task<int> RunAsync(DateTimeOffset deadline, CT ct)
    {
        var settings = options.Value;
        // Note: the bound is compared with times the storage service set (rows' and hints' Timestamp), so it is taken on the
        // service's clock as this instance knows it, not on this instance's wall clock, which may be off by any amount.
        var recovered = await RecoverAsync(leases.UtcNow - settings.OutboxRecoveryAfter, deadline, ct);
        var delivered = await Task.WhenAll(settings.Endpoints.Select(e => RunEndpointAsync(e.Key, e.Value, deadline, ct)));
        return recovered + delivered.Sum();
    }

    private async Task<int> RecoverAsync(DateTimeOffset olderThan, DateTimeOffset deadline, CT ct)
    {
        try
        {
            return await outbox.RecoverAsync(olderThan, deadline, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Note: recovery failing (storage throttled, a row it cannot read) must not stop the deliveries of what is logged.
            LogRecoveryFailed(logger, ex.GetType().Name);
            return 0;
        }
    }

    private async Task<int> RunEndpointAsync(string name, WebhookEndpointOptions endpoint, DateTimeOffset deadline, CT ct)
    {
        // Note: each endpoint in its own task from the first await on, so a slow queue read for one never holds up another.
        await Task.Yield();
        try
        {
            await QueueNewEventsAsync(name, endpoint, ct);
            return await DeliverDueAsync(name, endpoint, deadline, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Note: storage or the vault failing for one endpoint must not stop the others; the next run tries again.
            LogEndpointFailed(logger, name, ex.GetType().Name);
            return 0;
        }
    }

    /// <summary>Moves the endpoint's place in the log forward, queueing what it wants. A crash in between re-queues (idempotent).</summary>
    private async Task QueueNewEventsAsync(string name, WebhookEndpointOptions endpoint, CT ct)
    {
        var settings = options.Value;
        var cursor = await queue.GetCursorAsync(name, ct);
        if (cursor is null)
        {
            // A new endpoint hears what happens from now on; what happened before is in GET /api/events.
            await queue.SetCursorAsync(name, log.CurrentCursor(), ct);
            return;
        }

        var page = await log.ListAsync(cursor, settings.BatchSize, ct);
        var now = time.GetUtcNow();
        foreach (var logged in page.Where(l => endpoint.Wants(l.Event)))
        {
            await queue.EnqueueAsync(name, logged, now, ct);
        }

        if (page.Count > 0)
        {
            await queue.SetCursorAsync(name, page[^1].Cursor, ct);
        }
    }

    private async Task<int> DeliverDueAsync(string name, WebhookEndpointOptions endpoint, DateTimeOffset deadline, CT ct)
    {
        var settings = options.Value;
        var due = await queue.DueAsync(name, time.GetUtcNow(), settings.BatchSize, ct);
        if (due.Count == 0)
        {
            return 0;
        }

        var keys = await secrets.GetAsync(endpoint.SecretName!, ct);
        if (keys is null)
        {
            // Nothing is attempted, so nothing counts against the retry schedule; the events wait for a usable secret.
            LogNoSecret(logger, name);
            return 0;
        }

        var url = new Uri(endpoint.Url!);
        using var inFlight = new SemaphoreSlim(settings.ConcurrencyPerEndpoint);
        var attempts = due.Select(async delivery =>
        {
            await inFlight.WaitAsync(ct);
            try
            {
                return await AttemptAsync(name, url, delivery, keys, deadline, ct);
            }
            finally
            {
                inFlight.Release();
            }
        });
        return (await Task.WhenAll(attempts)).Count(delivered => delivered);
    }

    private async Task<bool> AttemptAsync(string name, Uri url, PendingDelivery delivery, IReadOnlyList<WebhookSecret> keys, DateTimeOffset deadline, CT ct)
    {
        var settings = options.Value;
        var left = deadline - time.GetUtcNow();
        if (left <= TimeSpan.Zero)
        {
            return false;
        }

        var error = await sender.SendAsync(url, delivery.Logged.Event, keys, left < settings.AttemptTimeout ? left : settings.AttemptTimeout, ct);
        if (error is null)
        {
            await queue.CompleteAsync(delivery, ct);
            return true;
        }

        var now = time.GetUtcNow();
        var attempts = delivery.Attempts + 1;
        var dead = error == "gone" || DeliveryBackoff.Exhausted(delivery.FirstQueuedAt, now, settings);
        if (dead)
        {
            LogDeadLettered(logger, name, delivery.Logged.Event.Type, attempts, error);
        }
        else
        {
            LogAttemptFailed(logger, name, delivery.Logged.Event.Type, attempts, error);
        }

        await queue.UpdateAsync(delivery with
        {
            Attempts = attempts,
            LastError = error,
            DeadLettered = dead,
            NextAttemptAt = now + DeliveryBackoff.After(attempts, settings, Random.Shared),
        }, ct);
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox recovery failed with {ExceptionType}; deliveries go on, the next run tries again")]
    private static partial void LogRecoveryFailed(ILogger logger, string exceptionType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook endpoint {Endpoint}: delivery run failed with {ExceptionType}; the next run tries again")]
    private static partial void LogEndpointFailed(ILogger logger, string endpoint, string exceptionType);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook endpoint {Endpoint}: its Key Vault secret is missing or holds no valid whsec_ secret; events wait")]
    private static partial void LogNoSecret(ILogger logger, string endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook endpoint {Endpoint}: {EventType} attempt {Attempt} failed ({Error}); retrying later")]
    private static partial void LogAttemptFailed(ILogger logger, string endpoint, string eventType, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook endpoint {Endpoint}: {EventType} dead-lettered after {Attempt} attempts ({Error}); list it with GET /api/events")]
    private static partial void LogDeadLettered(ILogger logger, string endpoint, string eventType, int attempt, string error);
}
