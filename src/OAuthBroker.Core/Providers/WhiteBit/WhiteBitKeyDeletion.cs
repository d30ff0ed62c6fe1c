using Microsoft.Extensions.Logging;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>
/// Deleting a user's key (api-key-delete: 200; 401 "token does not carry the apikeys.delete scope"; 403 "does not belong
/// to the authenticated OAuth2 client"; 404; and "disabled keys must be removed by the user from the WhiteBIT dashboard"),
/// turned into what unlink can report. 423 is waited out like the secret's lock, for at most
/// <see cref="WhiteBitOptions.KeyDeletionLockedTotalWait"/>.
/// </summary>
internal sealed partial class WhiteBitKeyDeletion(
    string providerId,
    WhiteBitOptions options,
    WhiteBitApiKeys keys,
    WhiteBitTokenClock tokens,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Deletes with a live access token (the caller checked its expiry).</summary>
    public async Task<RevocationResult> DeleteAsync(ProviderCredential credential, string externalId, CT ct)
    {
        using var delays = Backoff.Delays(options.LockedInitialBackoff, options.LockedMaxBackoff, options.KeyDeletionLockedTotalWait).GetEnumerator();
        while (true)
        {
            var answer = await keys.DeleteAsync(credential.AccessToken, externalId, ct);
            switch (answer.Status)
            {
                case 0:
                    return new RevocationResult(RevocationStatus.Unavailable, "WhiteBIT could not be reached to delete the API key; nothing was erased, retry the unlink.");
                case >= 200 and < 300:
                case 404:
                    // 404 (fast-api-key-integration, Error handling): "A key deleted by the system ... returns the same 404".
                    return new RevocationResult(RevocationStatus.Revoked, "WhiteBIT deleted the API key (WhiteBIT e-mails the user about it).");
                case 401 when tokens.ExpiresSoon(credential):
                    return TokenExpired(credential);
                case 401:
                    // On a token that is not about to expire: "token does not carry the apikeys.delete scope" (api-key-delete),
                    // or the partner's authorization was revoked — which revokes the key too (fast-api-key-integration, Lifecycle).
                    return new RevocationResult(RevocationStatus.NoLongerPossible,
                        "WhiteBIT refused the broker's access token for deleting the key (missing apikeys.delete scope, or the authorization was revoked); delete the key in WhiteBIT's API key settings if it still exists.");
                case 403:
                    return new RevocationResult(RevocationStatus.NoLongerPossible, "WhiteBIT says this key does not belong to the broker's client; delete it in WhiteBIT's API settings.");
                case 423 when delays.MoveNext():
                    await Task.Delay(delays.Current, time, ct);
                    continue;
                case 408 or 423 or 429 or >= 500:
                    return new RevocationResult(RevocationStatus.Unavailable, $"WhiteBIT did not delete the API key yet (HTTP {answer.Status}); nothing was erased, retry the unlink.", answer.RetryAfter);
                default:
                    // Undocumented 4xx. The likeliest cause is documented: "disabled keys must be removed by the user from the
                    // WhiteBIT dashboard" (api-key-delete) — keys are disabled after 14 days without use. Retrying cannot help.
                    LogDeleteRefused(logger, providerId, answer.Status);
                    return new RevocationResult(RevocationStatus.NoLongerPossible,
                        $"WhiteBIT refused to delete the API key (HTTP {answer.Status}); a disabled key (unused for 14 days) can only be deleted by the user in WhiteBIT's dashboard: delete it in WhiteBIT's API key settings.");
            }
        }
    }

    /// <summary>The access token ran out: renew first when a refresh token is held, else only the user can delete the key.</summary>
    public RevocationResult TokenExpired(ProviderCredential credential) =>
        tokens.HasLiveRefreshToken(credential)
            ? new RevocationResult(RevocationStatus.Unavailable,
                "WhiteBIT's access token has expired; the broker renews it with the refresh token before deleting the API key. Nothing was erased: retry the unlink shortly.")
            {
                RefreshFirst = true,
            }
            : new RevocationResult(RevocationStatus.NoLongerPossible,
                "WhiteBIT's access token has expired and no refresh token is left to renew it, so the broker can no longer delete the API key: delete it in WhiteBIT's API key settings. The broker's copy was erased.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhiteBIT ({ProviderId}) refused to delete an API key with HTTP {Status}; the user must delete it in WhiteBIT's dashboard")]
    private static partial void LogDeleteRefused(ILogger logger, string providerId, int status);
}
