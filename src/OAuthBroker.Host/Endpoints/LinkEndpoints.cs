using OAuthBroker.Errors;
using OAuthBroker.Host.Identity;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Host.Endpoints;

/// <summary>The current user's links: list and unlink. No secret material ever appears here.</summary>
public static class LinkEndpoints
{
    private const int MaxAccountIdLength = 256;

    public static void MapLinkEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/links", ListAsync).RequireCors(EdgePolicies.FrontendCors);
        app.MapDelete("/api/links/{provider}/{accountId}", UnlinkAsync).RequireCors(EdgePolicies.FrontendCors);
    }

    private static async Task<IResult> ListAsync(HttpContext context, ICurrentUserResolver users, LinkService links, TimeProvider time, CT ct)
    {
        context.Response.NoStore();
        var userId = users.Resolve(context);
        if (userId is null)
        {
            return Problems.From(BrokerErrors.Unauthenticated);
        }

        var all = await links.ListAsync(userId, ct);
        return TypedResults.Ok(all.OrderBy(l => l.ProviderId, StringComparer.Ordinal).ThenBy(l => l.AccountId, StringComparer.Ordinal).Select(l => LinkView.From(l, time.GetUtcNow())));
    }

    private static async Task<IResult> UnlinkAsync(string provider, string accountId, HttpContext context, ICurrentUserResolver users, LinkService links, CT ct)
    {
        context.Response.NoStore();
        var userId = users.Resolve(context);
        if (userId is null)
        {
            return Problems.From(BrokerErrors.Unauthenticated);
        }

        if (!ProviderIds.IsWellFormed(provider))
        {
            return Problems.From(BrokerErrors.UnknownProvider(provider));
        }

        if (accountId.Length > MaxAccountIdLength || accountId.Any(char.IsControl))
        {
            return Problems.From(BrokerErrors.InvalidParameter("accountId", $"must be at most {MaxAccountIdLength} printable characters"));
        }

        var (result, error) = await links.UnlinkAsync(userId, provider, accountId, ct);
        if (error?.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return error is not null ? Problems.From(error) : TypedResults.Ok(result);
    }
}

/// <summary>A link as the user's frontend sees it.</summary>
public sealed record LinkView(
    string Provider,
    string AccountId,
    string? DisplayName,
    LinkStatus Status,
    IReadOnlyList<string> Scopes,
    bool HasApiKey,
    bool HasRefreshToken,
    DateTimeOffset? AccessTokenExpiresAt,
    DateTimeOffset? RefreshTokenExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastRefreshAt = null,
    DateTimeOffset? NextRefreshAt = null,
    bool Refreshing = false,
    string? LastFailure = null,
    string? WaitingFor = null)
{
    /// <summary>A <see cref="LinkStatus.PendingKey"/> link shows what it waits for and when it looks again (<see cref="NextRefreshAt"/>).</summary>
    public static LinkView From(AccountLink link, DateTimeOffset now) => new(
        link.ProviderId, link.AccountId, link.AccountDisplayName, link.Status, link.Scopes, link.HasApiKey,
        link.HasRefreshToken, link.AccessTokenExpiresAt, link.RefreshTokenExpiresAt, link.CreatedAt, link.UpdatedAt,
        link.LastRefreshAt, link.NextRefreshAt, link.IsLeased(now), link.LastFailure,
        link.Status == LinkStatus.PendingKey ? link.WaitingFor : null);
}
