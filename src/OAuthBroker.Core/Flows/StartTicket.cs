namespace OAuthBroker.Flows;

/// <summary>
/// Lets a single-page app on another origin start a flow in a pop-up: the app asks for a ticket with its bearer token
/// (which a pop-up navigation cannot carry), and the pop-up presents the ticket instead. Unguessable, stored only as a
/// fingerprint, bound to user, provider and return URL, valid for <see cref="Lifetime"/>, and usable once. A ticket
/// only starts a flow: it proves nothing about the browser that presents it (an attacker can open their own ticket in a
/// victim's browser), so the link still waits for the completion step by the ticket's user (<see cref="LinkCompletionService"/>).
/// </summary>
public sealed record StartTicket
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public required string Fingerprint { get; init; }
    public required string UserId { get; init; }
    public required string ProviderId { get; init; }
    public required Uri ReturnUrl { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public string? ETag { get; init; }
}

public interface IStartTicketStore
{
    Task CreateAsync(StartTicket ticket, CT ct);

    Task<StartTicket?> FindAsync(string fingerprint, CT ct);

    /// <summary>Deletes the ticket if still unchanged; exactly one caller gets true.</summary>
    Task<bool> TryConsumeAsync(StartTicket ticket, CT ct);

    /// <summary>Tickets that expired before <paramref name="before"/>, for housekeeping (deleted with <see cref="TryConsumeAsync"/>).</summary>
    IAsyncEnumerable<StartTicket> ListExpiredAsync(DateTimeOffset before, CT ct);
}

/// <summary>Issues and redeems start tickets.</summary>
public sealed class StartTickets(IStartTicketStore store, ReturnUrlPolicy returnUrls, Providers.ProviderCatalog providers, TimeProvider time)
{
    public async Task<(string? Ticket, DateTimeOffset ExpiresAt, Errors.BrokerError? Error)> IssueAsync(string userId, string providerId, string? returnUrl, CT ct)
    {
        if (providers.Find(providerId) is null)
        {
            return (null, default, Errors.BrokerErrors.UnknownProvider(providerId));
        }

        if (!returnUrls.TryResolve(returnUrl, out var returnTo, out var error))
        {
            return (null, default, error);
        }

        var ticket = FlowSecrets.NewOpaqueValue();
        var expires = time.GetUtcNow() + StartTicket.Lifetime;
        await store.CreateAsync(new StartTicket { Fingerprint = FlowSecrets.Fingerprint(ticket), UserId = userId, ProviderId = providerId, ReturnUrl = returnTo, ExpiresAt = expires }, ct);
        return (ticket, expires, null);
    }

    /// <summary>The ticket's user and return URL, once; null when unknown, expired, used or for another provider.</summary>
    public async Task<StartTicket?> RedeemAsync(string ticket, string providerId, CT ct)
    {
        var found = await store.FindAsync(FlowSecrets.Fingerprint(ticket), ct);
        if (found is null || found.ProviderId != providerId || !await store.TryConsumeAsync(found, ct))
        {
            return null;
        }

        return found.ExpiresAt < time.GetUtcNow() ? null : found;
    }
}
