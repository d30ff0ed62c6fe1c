namespace OAuthBroker.Providers;

/// <summary>The outcome of one <see cref="IDeferredAuthorization.ContinueAsync"/> attempt.</summary>
public abstract record PendingStep
{
    private PendingStep()
    {
    }

    /// <summary>Done: the grant to link.</summary>
    public sealed record Completed(ProviderGrant Grant) : PendingStep;

    /// <summary>Not yet: continue with <paramref name="Next"/> at its <see cref="PendingAuthorization.NextAttemptAt"/>.</summary>
    public sealed record Waiting(PendingAuthorization Next, PendingWait Reason) : PendingStep;

    /// <summary>
    /// The access token expired (or was refused) and a refresh token is held: refresh with
    /// <see cref="IOAuthProvider.RefreshAsync"/>, store the rotated pair in <see cref="PendingAuthorization.Credential"/>
    /// (keeping the old refresh token if none came back), then continue.
    /// </summary>
    public sealed record RefreshNeeded(PendingAuthorization Pending) : PendingStep;

    /// <summary>
    /// This attempt failed. <see cref="ProviderFailureKind.Unavailable"/> and <see cref="ProviderFailureKind.RateLimited"/>
    /// are transient: continue later with the same pending authorization. Anything else is final; what the dialect's
    /// documented recovery removed at the provider is already gone (e.g. WhiteBIT 409), the rest is for
    /// <see cref="IDeferredAuthorization.AbandonAsync"/>.
    /// </summary>
    public sealed record Failed(ProviderFailure Failure) : PendingStep;
}

/// <summary>Why a pending authorization waits.</summary>
public enum PendingWait
{
    /// <summary>What the link needs does not exist at the provider yet (WhiteBIT: the user has not created the key).</summary>
    NotYetCreated,
    /// <summary>The provider holds a lock and asks to retry later (WhiteBIT 423 on the key secret).</summary>
    Locked,
}
