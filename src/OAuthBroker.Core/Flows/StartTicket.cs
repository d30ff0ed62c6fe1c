namespace OAuthBroker.Flows;

/// <summary>
/// Lets a single-page app on another origin start a flow in a pop-up: the app asks for a ticket with its bearer token
/// (which a pop-up navigation cannot carry), and the pop-up presents the ticket instead. Unguessable, stored only as a
/// fingerprint, bound to user, provider, return URL and, when the app sends one, a completion challenge; valid for
/// <see cref="Lifetime"/>, and usable once. A ticket only starts a flow: it proves nothing about the browser that
/// presents it (an attacker can open their own ticket in a victim's browser), so the link still waits for the
/// completion step by the ticket's user (<see cref="LinkCompletionService"/>).
/// </summary>
public sealed record StartTicket
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public required string Fingerprint { get; init; }
    public required string UserId { get; init; }
    public required string ProviderId { get; init; }
    public required Uri ReturnUrl { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>S256 challenge of the app's completion verifier (RFC 7636 §4.2 applied to the completion step), or null.</summary>
    public string? CompletionChallenge { get; init; }
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
    /// <param name="completionChallenge">
    /// The S256 challenge of a verifier the app keeps (memory or sessionStorage); the completion step then needs the
    /// verifier instead of the browser cookie, which a frontend on another site cannot send.
    /// </param>
    public async Task<(string? Ticket, DateTimeOffset ExpiresAt, Errors.BrokerError? Error)> IssueAsync(
        string userId, string providerId, string? returnUrl, string? completionChallenge, CT ct)
    {
        if (providers.Find(providerId) is null)
        {
            return (null, default, Errors.BrokerErrors.UnknownProvider(providerId));
        }

        if (completionChallenge is not null && !Pkce.IsS256Challenge(completionChallenge))
        {
            return (null, default, Errors.BrokerErrors.InvalidParameter("completionChallenge", "must be the S256 challenge of a verifier: 43 base64url characters (RFC 7636 §4.2)"));
        }

        if (!returnUrls.TryResolve(returnUrl, out var returnTo, out var error))
        {
            return (null, default, error);
        }

        if (completionChallenge is not null && !returnUrls.IsCompletionPage(returnTo))
        {
            // The code of a challenge flow lands in the return URL's fragment and completes with the verifier, which the
            // ticket's user holds. Were the page the ticket's choice, an attacker's ticket opened by a victim could
            // park the victim's code on a page that never completes (or leaks it) and complete it as the attacker.
            // On a registered completion page, the victim's own frontend completes first, as the victim: refused, the
            // grant discarded (CrossSiteCompletionTests).
            return (null, default, Errors.BrokerErrors.InvalidReturnUrl(
                "is not one of Broker:CompletionPages: a flow started with a completion challenge returns only to a registered completion page (exact URL)"));
        }

        var ticket = FlowSecrets.NewOpaqueValue();
        var expires = time.GetUtcNow() + StartTicket.Lifetime;
        await store.CreateAsync(new StartTicket
        {
            Fingerprint = FlowSecrets.Fingerprint(ticket),
            UserId = userId,
            ProviderId = providerId,
            ReturnUrl = returnTo,
            ExpiresAt = expires,
            CompletionChallenge = completionChallenge,
        }, ct);
        return (ticket, expires, null);
    }

    /// <summary>
    /// The ticket's user, return URL and challenge, once; <see cref="Errors.BrokerErrors.InvalidTicket"/> when unknown,
    /// expired, used or for another provider. A ticket with a completion challenge also needs the browser to have come
    /// from a configured frontend: <paramref name="openedFrom"/> is the request's Referer, which a page of another origin
    /// cannot forge (Fetch, "determine request's referrer"; a server-side redirect keeps the original referrer). So an
    /// attacker's ticket does not start a flow in a victim's browser, where a code leaking from the victim's return page
    /// would otherwise complete with the attacker's own verifier. Used up either way.
    /// </summary>
    public async Task<(StartTicket? Ticket, Errors.BrokerError? Error)> RedeemAsync(string ticket, string providerId, Uri? openedFrom, CT ct)
    {
        var found = await store.FindAsync(FlowSecrets.Fingerprint(ticket), ct);
        if (found is null || found.ProviderId != providerId || !await store.TryConsumeAsync(found, ct) || found.ExpiresAt < time.GetUtcNow())
        {
            return (null, Errors.BrokerErrors.InvalidTicket);
        }

        if (found.CompletionChallenge is not null && (openedFrom is null || !returnUrls.IsFrontendOrigin(openedFrom)))
        {
            return (null, Errors.BrokerErrors.TicketFromElsewhere);
        }

        return (found, null);
    }
}
