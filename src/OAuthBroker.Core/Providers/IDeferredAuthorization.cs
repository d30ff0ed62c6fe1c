namespace OAuthBroker.Providers;

/// <summary>
/// A provider whose authorization finishes after the code exchange: the tokens come at once, but what the link needs
/// appears later at the provider (WhiteBIT's Fast API Key flow: the user creates the key on WhiteBIT's page after the
/// exchange — guides/fast-api-key-integration, step 0.6 — and its secret may be locked, 423, for minutes). The three
/// calls let a caller end the callback quickly and finish in scheduled work, holding the pending credential sealed:
/// <list type="number">
/// <item><see cref="ExchangeCodeAsync"/> once, in the callback (the code is single-use);</item>
/// <item><see cref="ContinueAsync"/> at <see cref="PendingAuthorization.NextAttemptAt"/>, until it completes or fails;</item>
/// <item><see cref="AbandonAsync"/> when the caller gives up, so nothing the flow created is left behind at the provider.</item>
/// </list>
/// A provider implementing this is completed only through these calls; the broker never calls its
/// <see cref="IOAuthProvider.CompleteAuthorizationAsync"/> (the callback checks for this interface first).
/// </summary>
public interface IDeferredAuthorization
{
    /// <summary>Spends the code; the answer holds the tokens and the provider's progress, nothing is waited for.</summary>
    Task<ProviderResult<PendingAuthorization>> ExchangeCodeAsync(AuthorizationCompletion completion, CT ct);

    /// <summary>One bounded attempt to finish (a few provider calls, no waiting).</summary>
    Task<PendingStep> ContinueAsync(PendingAuthorization pending, CT ct);

    /// <summary>
    /// Gives up: removes at the provider what this flow created and no link will hold (WhiteBIT: a key that appeared
    /// during the flow), never anything in <see cref="PendingAuthorization.ExistingAccountIds"/> or that was there before.
    /// </summary>
    Task<RevocationResult> AbandonAsync(PendingAuthorization pending, CT ct);
}
