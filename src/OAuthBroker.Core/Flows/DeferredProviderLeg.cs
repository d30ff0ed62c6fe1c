using Microsoft.Extensions.Logging;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Flows;

/// <summary>
/// The callback's part of an authorization that finishes later (<see cref="IDeferredAuthorization"/>; WhiteBIT's Fast
/// API Key flow): the code exchange (the code is single-use) and one look at the provider, never a wait. A look that
/// finds everything ready gives the grant as any provider would; otherwise the answer is a pending grant
/// (<see cref="ProviderGrant.IsPending"/>, a placeholder account id) that goes through the same confirmation step as
/// any grant — only the flow's user, in the flow's browser or with its verifier, can confirm it — and becomes a
/// <see cref="LinkStatus.PendingKey"/> link that scheduled work continues (<see cref="Links.PendingKeyContinuation"/>).
/// </summary>
public sealed partial class DeferredProviderLeg(IAccountLinkStore links, ILogger<DeferredProviderLeg> logger)
{
    public const string PlaceholderPrefix = "pending-";

    public async Task<ProviderResult<ProviderGrant>> RunAsync(IOAuthProvider provider, IDeferredAuthorization deferred, string userId, AuthorizationCompletion completion, CT ct)
    {
        var exchanged = await deferred.ExchangeCodeAsync(completion, ct);
        if (!exchanged.Succeeded)
        {
            return exchanged.Failure;
        }

        var pending = exchanged.Value with { ExistingAccountIds = await ExistingAccountIdsAsync(links, userId, provider.Descriptor.Id, ct) };
        var step = await deferred.ContinueAsync(pending, ct);
        switch (step)
        {
            case PendingStep.Completed done:
                return done.Grant;
            case PendingStep.Waiting waiting:
                return Pending(waiting.Next, WaitCode(waiting.Reason));
            case PendingStep.RefreshNeeded refresh:
                // Not spent here: the continuation spends it under the link's lease, with its result stored.
                return Pending(refresh.Pending, "token_renewal");
            case PendingStep.Failed { Failure.Kind: ProviderFailureKind.Unavailable or ProviderFailureKind.RateLimited } transient:
                LogDeferred(logger, provider.Descriptor.Id, transient.Failure.ProviderCode);
                return Pending(pending, "provider_unavailable");
            case PendingStep.Failed failed:
                if (failed.Failure.Kind is not (ProviderFailureKind.RestartRequired or ProviderFailureKind.AccountNotEligible))
                {
                    // Not the request's token: what the flow created at the provider is removed even if the browser left.
                    await deferred.AbandonAsync(pending, CT.None);
                }

                return failed.Failure;
            default:
                throw new InvalidOperationException("Unknown pending step.");
        }
    }

    /// <summary>The account ids of the user's settled links at the provider: keys the flow must never delete or take over.</summary>
    public static async Task<IReadOnlySet<string>> ExistingAccountIdsAsync(IAccountLinkStore links, string userId, string providerId, CT ct) =>
        (await links.ListAsync(userId, ct))
            .Where(l => l.ProviderId == providerId && !l.AccountId.StartsWith(PlaceholderPrefix, StringComparison.Ordinal))
            .Select(l => l.AccountId)
            .ToHashSet(StringComparer.Ordinal);

    public static string WaitCode(PendingWait reason) => reason == PendingWait.Locked ? "key_locked" : "key_not_created";

    private static ProviderGrant Pending(PendingAuthorization pending, string waitingFor) =>
        new(PlaceholderPrefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)), null, pending.Credential, pending.Scopes)
        {
            PendingProgress = pending.Progress,
            NextAttemptAt = pending.NextAttemptAt,
            WaitingFor = waitingFor,
        };

    [LoggerMessage(Level = LogLevel.Information, Message = "Deferred authorization at {ProviderId}: the first look failed transiently ({ProviderCode}); scheduled work continues it")]
    private static partial void LogDeferred(ILogger logger, string providerId, string providerCode);
}
