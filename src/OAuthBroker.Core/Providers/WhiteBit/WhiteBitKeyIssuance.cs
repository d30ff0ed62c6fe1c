using Microsoft.Extensions.Logging;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// The Fast API Key flow after the code exchange: wait for the user's key (<c>/oauth2/api-key/info</c>), fetch its secret
/// once (api-key-secret: 409 afterwards, 423 while locked), and tell a key this flow created from one that was already
/// there (<see cref="WhiteBitProgress.KeyAtFirstLook"/>): only the former may be deleted. Each call is one bounded look;
/// waiting is the caller's (<see cref="IDeferredAuthorization"/>).
/// </summary>
internal sealed partial class WhiteBitKeyIssuance(
    string providerId,
    WhiteBitOptions options,
    WhiteBitApiKeys keys,
    WhiteBitKeyDeletion deletion,
    WhiteBitTokenClock tokens,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>
    /// One look: <c>/info</c>, then the secret once the key is there. The decision matrix is the one on the api-key-info
    /// page: (true, true) continue, (true, false) a disabled key the user must delete, (false, false) not yet.
    /// </summary>
    public async Task<PendingStep> ContinueAsync(PendingAuthorization pending, CT ct)
    {
        var now = time.GetUtcNow();
        var progress = WhiteBitProgress.From(pending.Progress);
        if (pending.Credential.AccessTokenExpiresAt <= now)
        {
            return RefreshOrFail(pending);
        }

        var info = await keys.InfoAsync(pending.Credential.AccessToken, ct);
        switch (info.Status)
        {
            case 401 when tokens.ExpiresSoon(pending.Credential):
                return RefreshOrFail(pending);
            case 423:
                return WaitOutLock(pending, progress, now);
            case not 200:
                return new PendingStep.Failed(WhiteBitApiKeys.Failure(info, "api-key info"));
        }

        var key = info.Info!;
        progress = progress with { KeyAtFirstLook = progress.KeyAtFirstLook ?? (key.Exists ? key.ExternalId ?? "" : "") };
        if (key.Exists && !key.Enabled)
        {
            return new PendingStep.Failed(new ProviderFailure(ProviderFailureKind.AccountNotEligible, "key_disabled",
                "The WhiteBIT account has a disabled API key for this platform; the user must delete it in WhiteBIT's dashboard, then connect again."));
        }

        if (!key.Exists || key.ExternalId is not { } externalId)
        {
            var next = now + options.ApiKeyPollInterval;
            return next > progress.KeyWaitUntil
                ? new PendingStep.Failed(NoKeyCreated())
                : new PendingStep.Waiting(pending with { Progress = progress.ToDictionary(), NextAttemptAt = next }, PendingWait.NotYetCreated);
        }

        if (pending.ExistingAccountIds.Contains(externalId))
        {
            return new PendingStep.Failed(KeyAlreadyLinked());
        }

        // Not the sweep's token: the secret is handed out once (api-key-secret: 409 afterwards), so a request that was sent
        // must get its answer, as a spend must. The HTTP client's own call timeout (Broker:ProviderTimeout) bounds it.
        var secret = await keys.SecretAsync(pending.Credential.AccessToken, externalId, CT.None);
        switch (secret.Status)
        {
            case 200 when secret.Secret is { } apiSecret:
                return new PendingStep.Completed(Grant(pending, externalId, apiSecret));
            case 423:
                return WaitOutLock(pending with { Progress = progress.ToDictionary() }, progress, now);
            case 409 when progress.CreatedDuringFlow(externalId):
                // Documented recovery (api-key-secret, 409): "Recovery requires deleting the key and restarting". Only for a
                // key this flow created: a secret nobody holds is useless, and the key would block the next attempt.
                var deleted = await deletion.DeleteAsync(pending.Credential, externalId, ct);
                LogSecretAlreadyRetrieved(logger, providerId, deleted.Status);
                return new PendingStep.Failed(deleted.Status == RevocationStatus.Revoked
                    ? new ProviderFailure(ProviderFailureKind.RestartRequired, "409",
                        "WhiteBIT says the key's secret was already retrieved; the key was deleted as WhiteBIT documents, and the user must connect again.")
                    : new ProviderFailure(ProviderFailureKind.RestartRequired, KeyLeftAtWhiteBit,
                        "WhiteBIT says the key's secret was already retrieved, and the key could not be deleted; the user must delete it in WhiteBIT's API key settings, then connect again."));
            case 409:
                // The key was there before this flow looked: one active key per (user, partner), and its secret was fetched
                // before — by the link that uses it. Deleting it would silently break that link.
                return new PendingStep.Failed(KeyAlreadyLinked());
            case 401 when tokens.ExpiresSoon(pending.Credential):
                return RefreshOrFail(pending);
            default:
                return new PendingStep.Failed(WhiteBitApiKeys.Failure(secret, "api-key secret"));
        }
    }

    /// <summary>
    /// Deletes the key this flow created, if one appeared; a key that was there before, or that a link holds, stays.
    /// <see cref="RevocationStatus.Revoked"/> means nothing of this flow is left at WhiteBIT (deleted, or none created);
    /// anything else means a key the flow created is, or may be, still there. An expired access token with a live
    /// refresh token asks the caller to renew first (<see cref="RevocationResult.RefreshFirst"/>), as unlink does for an
    /// active link: api-key-info and api-key-delete take only a live bearer token.
    /// <para>
    /// A flow whose first look never happened (<see cref="WhiteBitProgress.KeyAtFirstLook"/> null) cannot tell a key it
    /// created from an older one, and deletes none. When the user has another WhiteBIT link it still asks WhiteBIT while its
    /// access token lives: WhiteBIT keeps one active key per user and partner (fast-api-key-integration, Limits: "a second
    /// creation attempt returns an error and the consent flow terminates"), so a key one of the user's links holds means
    /// this flow created none, and no key means nothing is left. Without a live token such a user is not told to delete
    /// "the key" either: the key there is, by the same rule, that link's, and deleting it would break it.
    /// </para>
    /// </summary>
    public async Task<RevocationResult> AbandonAsync(PendingAuthorization pending, CT ct)
    {
        var progress = WhiteBitProgress.From(pending.Progress);
        if (progress.KeyAtFirstLook is { Length: > 0 })
        {
            return new RevocationResult(RevocationStatus.Revoked, "This flow created no key at WhiteBIT: the one there was there before it, and stays.");
        }

        var neverLooked = progress.KeyAtFirstLook is null;
        if (neverLooked && pending.ExistingAccountIds.Count == 0)
        {
            // No other link's key to tell apart: a key there now is this flow's or an older one, and is not deleted on a guess.
            return new RevocationResult(RevocationStatus.NoLongerPossible, NeverLookedDetail);
        }

        if (pending.Credential.AccessTokenExpiresAt <= time.GetUtcNow())
        {
            return neverLooked ? OtherLinkHoldsTheKey() : deletion.TokenExpired(pending.Credential);
        }

        var info = await keys.InfoAsync(pending.Credential.AccessToken, ct);
        if (info.Status != 200)
        {
            return new RevocationResult(RevocationStatus.Unavailable, "WhiteBIT could not be asked whether this flow created a key.");
        }

        if (info.Info is not { Exists: true, ExternalId: { } externalId } || pending.ExistingAccountIds.Contains(externalId))
        {
            return new RevocationResult(RevocationStatus.Revoked, "WhiteBIT shows no key created by this flow.");
        }

        if (neverLooked)
        {
            // A key none of the user's links holds: this flow's, or an older one whose secret nobody holds. Not deleted on
            // a guess; the user, who knows, is told to delete it if unused.
            return new RevocationResult(RevocationStatus.NoLongerPossible, NeverLookedDetail);
        }

        var deleted = await deletion.DeleteAsync(pending.Credential, externalId, ct);
        LogAbandonedKey(logger, providerId, deleted.Status);
        return deleted;
    }

    private const string NeverLookedDetail =
        "This flow never saw WhiteBIT's key list, so a key it may have created cannot be told from an older one; check WhiteBIT's API key settings and delete a key no link of yours uses.";

    /// <summary>
    /// No live token, a first look that never happened, and another WhiteBIT link of the user: WhiteBIT's consent screen
    /// refuses while the user has a key for the partner, active or expired (fast-api-key-integration, Limits; the consent
    /// errors <c>partner_key_active_exists</c>, <c>partner_key_expired_exists</c>), so while that link's key stood this flow
    /// created none. Nothing of this flow is counted as left, and the user is not told to delete the key that link uses.
    /// </summary>
    private static RevocationResult OtherLinkHoldsTheKey() => new(RevocationStatus.Revoked,
        "WhiteBIT allows one key per user and platform and another of the user's WhiteBIT links holds it, so this flow created none; that link's key stays.");

    private PendingStep RefreshOrFail(PendingAuthorization pending) => tokens.HasLiveRefreshToken(pending.Credential)
        ? new PendingStep.RefreshNeeded(pending)
        : new PendingStep.Failed(new ProviderFailure(ProviderFailureKind.TokenRejected, "token_expired",
            "WhiteBIT's access token expired before the API key could be fetched, and no refresh token is held; the user must connect again."));

    /// <summary>423 "Temporary lock, retry shortly", sent without Retry-After: back off from 5 s, doubling, capped at 60 s.</summary>
    private PendingStep WaitOutLock(PendingAuthorization pending, WhiteBitProgress progress, DateTimeOffset now)
    {
        var lockedUntil = progress.LockedUntil ?? now + options.PendingLockedTotalWait;
        var delay = progress.NextLockDelay ?? options.LockedInitialBackoff;
        if (now + delay > lockedUntil)
        {
            // The budget is final (not a transient failure retried up to Broker:PendingKeyLifetime): the guide's
            // 3–5 minutes of back-off on 423 (docs.whitebit.com/api-reference/oauth/usage/api-key-secret).
            return new PendingStep.Failed(LockedTooLong());
        }

        var doubled = delay * 2 > options.LockedMaxBackoff ? options.LockedMaxBackoff : delay * 2;
        var next = progress with { LockedUntil = lockedUntil, NextLockDelay = doubled };
        return new PendingStep.Waiting(pending with { Progress = next.ToDictionary(), NextAttemptAt = now + delay }, PendingWait.Locked);
    }

    private static ProviderGrant Grant(PendingAuthorization pending, string externalId, string apiSecret)
    {
        var vaulted = pending.Credential with
        {
            ApiKey = pending.Credential.ApiKey ?? externalId,
            ApiSecret = apiSecret,
            Metadata = new Dictionary<string, string> { [WhiteBitDefaults.ExternalIdMetadata] = externalId },
        };
        return new ProviderGrant(externalId, "API key " + externalId[..Math.Min(8, externalId.Length)], vaulted, pending.Scopes);
    }

    /// <summary>The reason a pending link gives when the key this flow created could not be deleted (the same as the continuation's).</summary>
    internal const string KeyLeftAtWhiteBit = Links.PendingKeyContinuation.KeyLeftCode;

    /// <summary>A pending link's 423 budget (<see cref="WhiteBitOptions.PendingLockedTotalWait"/>) ran out: final, under the wait's own name.</summary>
    internal static ProviderFailure LockedTooLong() => new(ProviderFailureKind.Rejected, "key_locked",
        "WhiteBIT kept the API key's secret locked (423) longer than the broker waits; connect again.");

    internal static ProviderFailure NoKeyCreated() => new(ProviderFailureKind.Rejected, "no_key_created",
        "WhiteBIT created no API key in time after consent (its consent screen refuses when the account already has an active or expired key for this platform).");

    internal static ProviderFailure KeyAlreadyLinked() => new(ProviderFailureKind.AccountNotEligible, "key_already_exists",
        "The WhiteBIT account already has this platform's API key, and its secret was handed out before — most likely to an existing link (WhiteBIT allows one active key per user and platform). " +
        "Unlink the existing WhiteBIT link (that deletes the key), or delete the key in WhiteBIT's API settings, then connect again.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhiteBIT ({ProviderId}) answered 409 on the key secret of a key this flow created; deleting it per the documented recovery: {DeleteOutcome}")]
    private static partial void LogSecretAlreadyRetrieved(ILogger logger, string providerId, RevocationStatus deleteOutcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhiteBIT ({ProviderId}) flow abandoned; the key it created was deleted: {DeleteOutcome}")]
    private static partial void LogAbandonedKey(ILogger logger, string providerId, RevocationStatus deleteOutcome);
}
