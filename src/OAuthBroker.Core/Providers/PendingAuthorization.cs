namespace OAuthBroker.Providers;

/// <summary>
/// An authorization between its code exchange and its completion (<see cref="IDeferredAuthorization"/>). A caller that
/// persists it keeps <see cref="Credential"/> in the vault (secret: tokens, and a delivered public key) and the rest
/// beside the link (not secret); it passes the record back unchanged except for what the steps return.
/// </summary>
/// <param name="Credential">The tokens from the exchange (replaced after a refresh, see <see cref="PendingStep.RefreshNeeded"/>).</param>
/// <param name="Scopes">Scopes the provider granted.</param>
/// <param name="Progress">The dialect's own bookkeeping (deadlines, what the first look found); not secret, opaque to the caller.</param>
/// <param name="NextAttemptAt">When <see cref="IDeferredAuthorization.ContinueAsync"/> should run next.</param>
public sealed record PendingAuthorization(
    ProviderCredential Credential,
    IReadOnlyList<string> Scopes,
    IReadOnlyDictionary<string, string> Progress,
    DateTimeOffset NextAttemptAt)
{
    /// <summary>
    /// Account ids of links the caller already holds at this provider (for WhiteBIT Fast: the externalIds of keys in
    /// use). The dialect never deletes one of them, and reports finding one as "already linked" instead.
    /// </summary>
    public IReadOnlySet<string> ExistingAccountIds { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public override string ToString() => $"PendingAuthorization {{ NextAttemptAt = {NextAttemptAt:O}, Credential = (redacted) }}";
}
