using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Providers;
using OAuthBroker.Sealing;

namespace OAuthBroker.Flows;

/// <summary>
/// Holds a finished provider leg until the flow's user confirms it: the grant sealed in storage, a one-time completion
/// code handed to the browser. Also discards what is never confirmed: the grant is revoked at the provider where it
/// allows (best effort), so an unconfirmed connection leaves nothing behind at the broker and as little as the
/// provider permits there.
/// </summary>
public sealed partial class PendingLinks(
    IPendingLinkStore store,
    Links.IAccountLinkStore links,
    Sealer sealer,
    ProviderCatalog providers,
    IOptions<BrokerOptions> options,
    IOptions<Links.RevocationScopeOptions> revocationScopes,
    TimeProvider time,
    ILogger<PendingLinks> logger)
{
    public const string SealingPurpose = "pending-link";

    /// <summary>Seals and stores the grant; returns the completion code (256 bits, shown once, stored only as a fingerprint).</summary>
    public async Task<string> HoldAsync(AuthorizationFlow flow, ProviderGrant grant, CT ct)
    {
        var code = FlowSecrets.NewOpaqueValue();
        var now = time.GetUtcNow();
        var pending = new PendingLink
        {
            CompletionFingerprint = FlowSecrets.Fingerprint(code),
            UserId = flow.UserId,
            ProviderId = flow.ProviderId,
            BrowserFingerprint = flow.BrowserFingerprint,
            CompletionChallenge = flow.CompletionChallenge,
            SealedGrant = "",
            CreatedAt = now,
            ExpiresAt = now + options.Value.PendingLinkLifetime,
        };
        pending = pending with { SealedGrant = await sealer.SealAsync(SealingPurpose, JsonSerializer.SerializeToUtf8Bytes(grant, CoreJsonContext.Default.ProviderGrant), pending.SealingContext, ct) };
        await store.CreateAsync(pending, ct);
        return code;
    }

    /// <summary>
    /// Takes the pending link for <paramref name="code"/>, once: of any number of concurrent attempts exactly one gets
    /// it. Null when the code is unknown, already taken or for another provider. The record stays (marked taken) until
    /// <see cref="RemoveAsync"/> or <see cref="DiscardAsync"/>, so the sealed grant outlives a lost storage answer.
    /// </summary>
    public async Task<PendingLink?> TakeAsync(string code, string providerId, CT ct)
    {
        var pending = await store.FindAsync(FlowSecrets.Fingerprint(code), ct);
        return pending is { TakenBy: null } && pending.ProviderId == providerId ? await TakeAsync(pending, ct) : null;
    }

    /// <summary>Takes a record already read (housekeeping); null when someone else took it first.</summary>
    public Task<PendingLink?> TakeAsync(PendingLink pending, CT ct) => store.TryTakeAsync(pending, FlowSecrets.NewOpaqueValue()[..16], ct);

    /// <summary>Puts a taken pending link back (its completion failed transiently and may be retried). False when storage refuses.</summary>
    public async Task<bool> RestoreAsync(PendingLink taken, CT ct)
    {
        try
        {
            return await store.TryReleaseAsync(taken, ct);
        }
        catch (Errors.StorageUnavailableException)
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes a taken record whose grant is linked or revoked. Best effort: a record left behind is marked taken, so
    /// nobody takes it again, and housekeeping deletes it once expired without revoking (it may be linked).
    /// </summary>
    public async Task RemoveAsync(PendingLink taken)
    {
        try
        {
            await store.RemoveAsync(taken, CT.None);
        }
        catch (Errors.StorageUnavailableException)
        {
            LogRemoveFailed(logger, taken.ProviderId);
        }
    }

    public bool IsExpired(PendingLink pending) => time.GetUtcNow() > pending.ExpiresAt;

    /// <summary>The sealed grant, or null when it cannot be opened (its key left the ring, or the record was altered).</summary>
    public async Task<ProviderGrant?> OpenAsync(PendingLink pending, CT ct)
    {
        if (await sealer.UnsealAsync(SealingPurpose, pending.SealedGrant, pending.SealingContext, ct) is not { } plaintext)
        {
            LogUnreadable(logger, pending.ProviderId);
            return null;
        }

        return JsonSerializer.Deserialize(plaintext, CoreJsonContext.Default.ProviderGrant)!;
    }

    /// <summary>
    /// Discards a taken pending link: revokes its grant at the provider where the provider allows it, then deletes the
    /// record. Best effort: a provider that is down or refuses is logged, and the grant is dropped all the same.
    /// </summary>
    public async Task<RevocationStatus?> DiscardAsync(PendingLink taken, string reason)
    {
        var revocation = await RevokeAsync(taken);
        await RemoveAsync(taken);
        LogDiscarded(logger, taken.ProviderId, reason, revocation);
        return revocation;
    }

    /// <summary>
    /// Revokes the pending grant at its provider; null when that is not attempted: the provider is no longer configured,
    /// the grant cannot be unsealed, or revoking reaches every grant of the user and client
    /// (<see cref="Links.RevocationScope.UserAndClient"/>) and so would also end the link the same provider account may
    /// already have here, under this user or another. Provider failures are values (Unavailable, Refused), never thrown.
    /// </summary>
    public async Task<RevocationStatus?> RevokeAsync(PendingLink pending)
    {
        if (!MayRevoke(pending.ProviderId))
        {
            return null;
        }

        ProviderGrant? grant;
        try
        {
            grant = await OpenAsync(pending, CT.None);
        }
        catch (Errors.VaultUnavailableException)
        {
            // The key ring could not load: the grant is there, but cannot be read now (housekeeping retries).
            return RevocationStatus.Unavailable;
        }

        if (grant is null || providers.Find(pending.ProviderId) is not { } provider)
        {
            return null;
        }

        if (grant.IsPending && provider is IDeferredAuthorization deferred)
        {
            // No key was known when the callback ended: remove one this flow created since, never one that was there
            // and never the key one of the user's links uses (another flow of the same user may have linked it since).
            IReadOnlySet<string> existing;
            try
            {
                existing = await DeferredProviderLeg.ExistingAccountIdsAsync(links, pending.UserId, pending.ProviderId, CT.None);
            }
            catch (Errors.StorageUnavailableException)
            {
                return RevocationStatus.Unavailable;
            }

            var abandoned = new PendingAuthorization(grant.Credential, grant.Scopes, grant.PendingProgress!, grant.NextAttemptAt ?? time.GetUtcNow()) { ExistingAccountIds = existing };
            return (await deferred.AbandonAsync(abandoned, CT.None)).Status;
        }

        return await RevokeGrantAsync(pending.ProviderId, grant.Credential);
    }

    /// <summary>
    /// Revokes a grant no link will hold (a pending one, or one that could not even be held) where that cannot reach
    /// another: null when not attempted (see <see cref="RevokeAsync"/>).
    /// </summary>
    public async Task<RevocationStatus?> RevokeGrantAsync(string providerId, ProviderCredential credential) =>
        MayRevoke(providerId) && providers.Find(providerId) is { } provider
            // Not a request's token: the revocation should finish even if the caller went away.
            ? (await provider.RevokeAsync(credential, CT.None)).Status
            : null;

    private bool MayRevoke(string providerId) => revocationScopes.Value.For(providerId) != Links.RevocationScope.UserAndClient;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pending link for {ProviderId} discarded ({Reason}); revocation at the provider: {Revocation} (none: not attempted)")]
    private static partial void LogDiscarded(ILogger logger, string providerId, string reason, RevocationStatus? revocation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A taken pending link for {ProviderId} could not be deleted; housekeeping removes it once expired")]
    private static partial void LogRemoveFailed(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Error, Message = "A pending link for {ProviderId} could not be unsealed: its key is no longer in the sealing key ring, or the record was altered")]
    private static partial void LogUnreadable(ILogger logger, string providerId);
}
