using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using OAuthBroker.Errors;
using OAuthBroker.Events;
using OAuthBroker.Host.Backends;
using OAuthBroker.Host.Endpoints;

namespace OAuthBroker.Host.Events;

/// <summary>
/// <c>GET /api/events?after={cursor}&amp;limit={n}</c>: the event log for the platform's backends, oldest first, to catch
/// up after an outage or replay a range. Authenticated like the credential endpoints; a backend limited to some
/// providers sees only their events. <c>next</c> is the cursor to ask after next time (it moves past events the caller
/// may not see too, so a limited backend never pages through them again).
/// </summary>
public static partial class EventEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static void MapEventEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/events", ListAsync);

    private static async Task<IResult> ListAsync(HttpContext context, BackendAuthenticator backends, IEventLog log, CT ct)
    {
        context.Response.NoStore();
        var caller = backends.Authenticate(context);
        if (caller is null)
        {
            return Problems.From(BrokerErrors.BackendUnauthenticated);
        }

        var query = context.Request.Query;
        var after = query["after"];
        if (after.Count > 1 || (after.Count == 1 && !CursorShape().IsMatch(after.ToString())))
        {
            return Problems.From(BrokerErrors.InvalidParameter("after", "must be one cursor from an earlier listing (19 digits, '-', an event id)"));
        }

        var limit = DefaultLimit;
        var limitText = query["limit"];
        if (limitText.Count > 1 || (limitText.Count == 1 && (!int.TryParse(limitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit)))
        {
            return Problems.From(BrokerErrors.InvalidParameter("limit", $"must be a whole number from 1 to {MaxLimit}"));
        }

        var cursor = after.Count == 1 ? after.ToString() : null;
        var page = await log.ListAsync(cursor, limit, ct);
        var next = page.Count > 0 ? page[^1].Cursor : cursor;
        var visible = page.Where(l => caller.MayRead(l.Event.ProviderId)).ToArray();
        return Results.Bytes(Serialize(visible, next), "application/json");
    }

    private static byte[] Serialize(IReadOnlyList<LoggedEvent> events, string? next)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("events");
            foreach (var logged in events)
            {
                LinkEventJson.Write(writer, logged.Event, logged.Cursor);
            }

            writer.WriteEndArray();
            // A null string is written as JSON null.
            writer.WriteString("next", next);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    [GeneratedRegex("^[0-9]{19}-evt_[0-9a-f]{32}$")]
    private static partial Regex CursorShape();
}
