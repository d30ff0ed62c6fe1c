using Microsoft.Extensions.Logging;
using OAuthBroker.Credentials;
using OAuthBroker.Errors;
using OAuthBroker.Links;

namespace OAuthBroker.Flows;

/// <summary>
/// The completion step: a pending link becomes a link only for the user the flow was started for, proven by the
/// caller's own credential (bearer token, Easy Auth, development identity), with the one-time completion code, and
/// bound to where the flow lives:
/// <list type="bullet">
/// <item>a flow started with a completion challenge (a start ticket from a single-page app, which may be on another
/// site and then cannot send the broker's cookies) needs the verifier, which never left the frontend that started it;</item>
/// <item>any other flow needs the browser-binding cookie of the browser that finished the provider leg.</item>
/// </list>
/// Anything else discards the grant. This is what stops forced linking: an attacker's flow that ends in a victim's
/// browser is a pending link the victim cannot confirm for the attacker, and the attacker cannot confirm without the
/// victim's browser (cookie) — and a challenge ticket does not even start in a browser that a page of another origin
/// sent there (see <see cref="StartTickets"/>).
/// </summary>
public sealed partial class LinkCompletionService(PendingLinks pendingLinks, LinkWriter links, ILogger<LinkCompletionService> logger)
{
    /// <param name="userId">The authenticated caller (the endpoint refuses unauthenticated calls before this).</param>
    /// <param name="browserBindings">The caller's browser-binding cookies (none when it sent none).</param>
    /// <param name="verifier">The completion verifier, when the frontend sent one.</param>
    public async Task<(CompletedLink? Linked, BrokerError? Error)> CompleteAsync(
        string providerId, string completionCode, string userId, IReadOnlyList<string> browserBindings, string? verifier, CT ct)
    {
        if (!FlowSecrets.IsOpaqueValue(completionCode))
        {
            return (null, BrokerErrors.InvalidCompletion);
        }

        // Taken first, whatever follows: a completion code works once, for whoever presents it first, and a wrong
        // presenter destroys it (fail closed) rather than leaving it for a second guess.
        // Note: the take and all that follows it ignore the request's token. A browser that goes away after the take
        // (or during it, once storage applied it) would leave the record taken and unfinished, which housekeeping
        // deletes without revoking (a taker may have linked it); so the completion runs to its end, bounded by the
        // storage and vault clients' own timeouts.
        ct.ThrowIfCancellationRequested();
        var pending = await pendingLinks.TakeAsync(completionCode, providerId, CT.None);
        if (pending is null)
        {
            LogRefused(logger, providerId, "unknown_or_used_code");
            return (null, BrokerErrors.InvalidCompletion);
        }

        if (pendingLinks.IsExpired(pending))
        {
            await pendingLinks.DiscardAsync(pending, "expired");
            return (null, BrokerErrors.InvalidCompletion);
        }

        if (!string.Equals(userId, pending.UserId, StringComparison.Ordinal))
        {
            LogRefused(logger, providerId, "user_mismatch");
            await pendingLinks.DiscardAsync(pending, "user_mismatch");
            return (null, BrokerErrors.CompletionRefusedForUser);
        }

        if (pending.CompletionChallenge is { } challenge)
        {
            // RFC 7636 §4.6, applied to the completion: only the frontend that asked for the ticket holds the verifier.
            if (verifier is null || !Pkce.Verifies(verifier, challenge))
            {
                LogRefused(logger, providerId, "verifier_mismatch");
                await pendingLinks.DiscardAsync(pending, "verifier_mismatch");
                return (null, BrokerErrors.CompletionRefusedForVerifier);
            }
        }
        else if (!FlowSecrets.IsBoundTo(pending.BrowserFingerprint, browserBindings))
        {
            LogRefused(logger, providerId, "browser_mismatch");
            await pendingLinks.DiscardAsync(pending, "browser_mismatch");
            return (null, BrokerErrors.CompletionRefusedForBrowser);
        }

        try
        {
            // The key ring may still have to load from the vault (a fresh instance): a vault outage here is transient too.
            if (await pendingLinks.OpenAsync(pending, CT.None) is not { } grant)
            {
                await pendingLinks.RemoveAsync(pending);
                return (null, BrokerErrors.InvalidCompletion);
            }

            // One grant id for every secret written for this grant, so a retry after a busy relink is the same grant.
            var link = await links.SaveAsync(pending.UserId, providerId, grant, CT.None, CredentialNames.GrantIdOfPending(pending.CompletionFingerprint));
            await pendingLinks.RemoveAsync(pending);
            LogLinked(logger, providerId);
            return (new CompletedLink(providerId, link.AccountId, link.AccountDisplayName), null);
        }
        catch (Exception ex) when (ex is VaultUnavailableException or StorageUnavailableException or LinkConcurrencyException)
        {
            return (null, await PutBackAsync(pending, ex switch
            {
                VaultUnavailableException => BrokerErrors.VaultUnavailable,
                StorageUnavailableException => BrokerErrors.StorageUnavailable,
                _ => BrokerErrors.ConcurrentChange,
            }));
        }
    }

    /// <summary>
    /// Nothing was linked. Puts the pending link back so the frontend can simply retry the completion; if storage will
    /// not take it back either, the grant is discarded and the user connects again.
    /// </summary>
    private async Task<BrokerError> PutBackAsync(PendingLink pending, BrokerError error)
    {
        if (await pendingLinks.RestoreAsync(pending, CT.None))
        {
            return error.WithDetail(error.Detail + " The connection is still pending: retry the completion shortly.");
        }

        await pendingLinks.DiscardAsync(pending, "save_failed");
        return error.WithDetail("Nothing was linked and the pending connection could not be kept: connect the account again.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Completion of a pending link at {ProviderId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string providerId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account linked at {ProviderId} (confirmed by its user)")]
    private static partial void LogLinked(ILogger logger, string providerId);
}

/// <summary>What the completion step answers: the link now exists.</summary>
public sealed record CompletedLink(string Provider, string AccountId, string? DisplayName)
{
    public string Result { get; } = ReturnParameters.Linked;
}
