namespace OAuthBroker.Providers;

/// <summary>The outcome of a successful authorization: who the user is at the provider and what they granted.</summary>
/// <param name="AccountId">The provider's stable id for the user's account (e.g. Bybit UID).</param>
/// <param name="AccountDisplayName">A label to show the user, when the provider gives one.</param>
/// <param name="Credential">Everything secret; goes to the vault and nowhere else.</param>
/// <param name="Scopes">Scopes the provider says it granted.</param>
public sealed record ProviderGrant(
    string AccountId,
    string? AccountDisplayName,
    ProviderCredential Credential,
    IReadOnlyList<string> Scopes)
{
    /// <summary>
    /// Set when the authorization is not finished (<see cref="IDeferredAuthorization"/>): the provider's progress, continued
    /// by scheduled work at <see cref="NextAttemptAt"/>; <see cref="AccountId"/> is then a placeholder.
    /// </summary>
    public IReadOnlyDictionary<string, string>? PendingProgress { get; init; }

    /// <summary>With <see cref="PendingProgress"/>: when to continue.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>With <see cref="PendingProgress"/>: what it waits for (see <see cref="Links.AccountLink.WaitingFor"/>).</summary>
    public string? WaitingFor { get; init; }

    public bool IsPending => PendingProgress is not null;

    public override string ToString() => $"ProviderGrant {{ AccountId = {AccountId}, Credential = (redacted) }}";
}

/// <summary>
/// The secret material a provider issued. Never logged (ToString is redacted), never returned to browsers,
/// and the refresh token never leaves the broker.
/// </summary>
public sealed record ProviderCredential
{
    public required string AccessToken { get; init; }
    public string? RefreshToken { get; init; }
    public string TokenType { get; init; } = "Bearer";
    public DateTimeOffset? AccessTokenExpiresAt { get; init; }
    public DateTimeOffset? RefreshTokenExpiresAt { get; init; }
    /// <summary>Exchange API key (public part), when the provider issues one.</summary>
    public string? ApiKey { get; init; }
    /// <summary>Exchange API secret, when the provider issues one.</summary>
    public string? ApiSecret { get; init; }
    /// <summary>Non-secret provider ids the broker needs later (e.g. WhiteBIT's key <c>externalId</c>, to delete the key).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public override string ToString() => "ProviderCredential { (redacted) }";
}
