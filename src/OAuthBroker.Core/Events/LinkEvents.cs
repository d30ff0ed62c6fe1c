using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Events;

/// <summary>
/// Builds the events of a link's state changes and hangs them on the row that records the change
/// (<see cref="AccountLink.PendingEvents"/>): the store writes both in one conditional write, so an event exists exactly
/// when its state change does (a transactional outbox in the row itself; see docs/events.md).
/// </summary>
public static class LinkEvents
{
    public static string NewId() => "evt_" + Guid.CreateVersion7().ToString("N");

    /// <summary><paramref name="link"/> with <paramref name="type"/> added to its outbox, describing the link as it will be written.</summary>
    public static AccountLink Announcing(this AccountLink link, string type, DateTimeOffset now, string? reason = null, RevocationStatus? revocation = null) =>
        link with { PendingEvents = [.. link.PendingEvents, Describe(link, type, now, reason, revocation)] };

    /// <summary>The status change of a refresh's definite end, announced when it means the user must act.</summary>
    public static AccountLink AnnouncingStatus(this AccountLink link, DateTimeOffset now) => link.Status switch
    {
        LinkStatus.ReauthRequired => link.Announcing(LinkEventTypes.ReauthRequired, now, link.LastFailure),
        LinkStatus.Expired => link.Announcing(LinkEventTypes.Expired, now, link.LastFailure),
        _ => link,
    };

    public static LinkEvent ProviderWide(string providerId, string type, DateTimeOffset now, string? reason = null, DateTimeOffset? retryAt = null) => new()
    {
        Id = NewId(),
        Type = type,
        OccurredAt = now,
        ProviderId = providerId,
        Reason = reason,
        RetryAt = retryAt,
    };

    private static LinkEvent Describe(AccountLink link, string type, DateTimeOffset now, string? reason, RevocationStatus? revocation) => new()
    {
        Id = NewId(),
        Type = type,
        OccurredAt = now,
        ProviderId = link.ProviderId,
        UserId = link.UserId,
        AccountId = link.AccountId,
        Status = type == LinkEventTypes.Deleted ? "deleted" : SnakeCase(link.Status.ToString()),
        Reason = reason,
        Revocation = revocation is { } r ? SnakeCase(r.ToString()) : null,
    };

    /// <summary>The API's enum spelling (<c>JsonStringEnumConverter</c> with <c>SnakeCaseLower</c>).</summary>
    internal static string SnakeCase(string name) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
}
