using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using OAuthBroker.Errors;
using OAuthBroker.Host.Endpoints;
using OAuthBroker.Links;
using OAuthBroker.Refresh;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Host.FunctionsHost;

/// <summary>
/// The timer function under the Functions host: the host posts <c>{Data, Metadata}</c> to <c>/RefreshTokens</c> on the
/// schedule in <c>RefreshTokens/function.json</c> (app setting <see cref="RefreshScheduleSetting.Name"/>) and expects
/// <c>{Outputs, Logs, ReturnValue}</c>; a non-2xx answer fails the invocation.
/// <para>Only the host's timer invocation runs the work, recognised by its shape (<see cref="TimerInvocationShape"/>): a
/// client can make the host forward an HTTP request to this path (a scheme or host the host's header fix-up copied
/// from <c>X-Forwarded-Proto</c>/<c>DISGUISED-HOST</c> becomes part of the forwarded URL), and such a request is
/// refused. And a run that does get here claims its schedule occurrence first (<see cref="IScheduledRunClaims"/>):
/// a second run for the same occurrence, from any instance or trigger, is skipped, so triggering this route at any time
/// never does more than the schedule would.</para>
/// </summary>
public static partial class RefreshTokensFunction
{
    public const string Name = "RefreshTokens";

    /// <summary>The timer binding's name in <c>RefreshTokens/function.json</c>.</summary>
    public const string TriggerName = "timer";

    private static readonly BrokerError NotTheTimer = new("not_a_timer_invocation", 403, "Not the host's timer",
        "Only the Functions host's own timer invocation runs the scheduled work.");

    public static void MapRefreshTokensFunction(this IEndpointRouteBuilder app)
    {
        var configuration = app.ServiceProvider.GetRequiredService<IConfiguration>();
        var handlerPort = int.Parse(configuration[FunctionsHostIntegration.PortVariable]!, System.Globalization.CultureInfo.InvariantCulture);
        // The schedule the host's timer runs on (the app's own Refresh:Schedule only when that setting is absent).
        var schedule = configuration[RefreshScheduleSetting.Name] is { Length: > 0 } timer
            ? timer
            : app.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<RefreshOptions>>().Value.Schedule;
        var occurrences = ScheduleOccurrences.Of(schedule, app.ServiceProvider.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime);

        app.MapPost("/" + Name, async (HttpContext http, ScheduledRun run, IScheduledRunClaims claims, PendingRenewalHorizon horizon, IOptions<RefreshOptions> refresh, ILeaseClock clock, ILoggerFactory loggers, CancellationToken ct) =>
        {
            var logger = loggers.CreateLogger(typeof(RefreshTokensFunction).FullName!);
            if (TimerInvocationShape.RefusalFromHeaders(http.Request, handlerPort) is { } headers)
            {
                LogRefused(logger, headers);
                return Problems.From(NotTheTimer);
            }

            JsonElement payload;
            try
            {
                payload = (await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: ct)).RootElement;
            }
            catch (JsonException)
            {
                payload = default;
            }

            if (TimerInvocationShape.RefusalFromPayload(payload, Name, TriggerName) is { } shape)
            {
                LogRefused(logger, shape);
                return Problems.From(NotTheTimer);
            }

            var pastDue = payload.GetProperty("Data").GetProperty(TriggerName).TryGetProperty("IsPastDue", out var flag) && flag.ValueKind == JsonValueKind.True;
            var now = clock.UtcNow;
            var occurrence = occurrences.OccurrenceFor(now);
            var holdUntil = now + ScheduledRunHold.Of(horizon.Terms, refresh.Value);
            var claim = await claims.TryClaimAsync(occurrence, now, holdUntil, ct);
            if (claim is null)
            {
                var skipped = $"Scheduled run skipped: the run for {occurrence:yyyy-MM-ddTHH:mm:ssZ} has finished or is still running.";
                LogSkipped(logger, occurrence);
                return Results.Ok(new InvocationResponse(new Dictionary<string, object?>(), [skipped], null));
            }

            ScheduledRunReport report;
            try
            {
                report = await run.RunAsync(ct);
            }
            catch
            {
                await claims.ReleaseAsync(claim, CancellationToken.None);
                throw;
            }

            await claims.FinishAsync(claim, CancellationToken.None);
            return Results.Ok(new InvocationResponse(new Dictionary<string, object?>(), [report.Summary(pastDue)], report));
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a POST /RefreshTokens that is not the Functions host's timer invocation: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled run for {Occurrence:o} skipped: another run finished it or still holds it")]
    private static partial void LogSkipped(ILogger logger, DateTimeOffset occurrence);
}

/// <summary>What the Functions host expects back (names are the contract's, PascalCase).</summary>
public sealed record InvocationResponse(
    [property: JsonPropertyName("Outputs")] Dictionary<string, object?> Outputs,
    [property: JsonPropertyName("Logs")] IReadOnlyList<string> Logs,
    [property: JsonPropertyName("ReturnValue")] object? ReturnValue);
