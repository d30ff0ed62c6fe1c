namespace OAuthBroker.Providers;

/// <summary>Defaults for what most dialects do not need: no extra response checks, no revocation.</summary>
public abstract class OAuthProviderBase : IOAuthProvider
{
    public abstract ProviderDescriptor Descriptor { get; }

    public abstract Task<ProviderResult<Uri>> BuildAuthorizationUrlAsync(AuthorizationRequest request, CT ct);

    public virtual Task<ProviderFailure?> CheckAuthorizationResponseAsync(AuthorizationResponse response, CT ct) => Task.FromResult<ProviderFailure?>(null);

    public abstract Task<ProviderResult<ProviderGrant>> CompleteAuthorizationAsync(AuthorizationCompletion completion, CT ct);

    public virtual Task<RevocationResult> RevokeAsync(ProviderCredential credential, CT ct) =>
        Task.FromResult(RevocationResult.NotSupported(Descriptor.DisplayName));

    public virtual Task<ProviderResult<ProviderCredential>> RefreshAsync(ProviderCredential current, CT ct) =>
        Task.FromResult<ProviderResult<ProviderCredential>>(new ProviderFailure(ProviderFailureKind.Rejected, "no_refresh",
            $"{Descriptor.DisplayName} issues no refresh tokens; the link is kept until its access token expires."));
}
