using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Errors;
using OAuthBroker.Providers;

namespace OAuthBroker.Flows;

/// <summary>
/// Runs the authorization-code flow: starts it (state, PKCE, stored flow) and finishes the provider leg (state checks,
/// code exchange). A callback that fails any check creates nothing; one that succeeds creates only a pending link,
/// which the flow's user confirms in the completion step (<see cref="LinkCompletionService"/>).
/// </summary>
public sealed partial class AuthorizationFlowService(
    ProviderCatalog providers,
    IAuthorizationFlowStore flows,
    PendingLinks pendingLinks,
    ReturnUrlPolicy returnUrls,
    IOptions<BrokerOptions> options,
    TimeProvider time,
    ILogger<AuthorizationFlowService> logger)
{
    /// <summary>Starts a flow for <paramref name="userId"/> in the browser identified by <paramref name="browserBinding"/>.</summary>
    /// <returns>The provider URL to send the browser to, or why not.</returns>
    public async Task<(Uri? AuthorizationUrl, BrokerError? Error)> StartAsync(
        string userId, string providerId, string? returnUrl, string browserBinding, CT ct)
    {
        var provider = providers.Find(providerId);
        if (provider is null)
        {
            return (null, BrokerErrors.UnknownProvider(providerId));
        }

        if (!returnUrls.TryResolve(returnUrl, out var returnTo, out var returnError))
        {
            return (null, returnError);
        }

        var state = FlowSecrets.NewOpaqueValue();
        var nonce = FlowSecrets.NewOpaqueValue();
        var verifier = provider.Descriptor.Capabilities.Pkce ? Pkce.NewVerifier() : null;
        var redirectUri = options.Value.CallbackUri(providerId);
        var authorizationUrl = await provider.BuildAuthorizationUrlAsync(
            new AuthorizationRequest(state, redirectUri, verifier is null ? null : Pkce.S256Challenge(verifier), nonce), ct);
        if (!authorizationUrl.Succeeded)
        {
            LogExchangeFailed(logger, providerId, authorizationUrl.Failure.Kind, authorizationUrl.Failure.ProviderCode);
            return (null, BrokerErrors.ProviderUnavailable(providerId));
        }

        var now = time.GetUtcNow();
        await flows.CreateAsync(new AuthorizationFlow
        {
            StateFingerprint = FlowSecrets.Fingerprint(state),
            UserId = userId,
            ProviderId = providerId,
            ReturnUrl = returnTo,
            RedirectUri = redirectUri,
            BrowserFingerprint = FlowSecrets.Fingerprint(browserBinding),
            CodeVerifier = verifier,
            Nonce = nonce,
            CreatedAt = now,
            ExpiresAt = now + options.Value.FlowLifetime,
        }, ct);

        LogFlowStarted(logger, providerId);
        return (authorizationUrl.Value, null);
    }

    /// <summary>Completes a flow from the provider's callback, in the browser that presents <paramref name="browserBinding"/>.</summary>
    public async Task<CallbackOutcome> CompleteAsync(string providerId, CallbackParameters callback, string? browserBinding, CT ct)
    {
        var provider = providers.Find(providerId);
        if (provider is null)
        {
            return CallbackOutcome.Fail(BrokerErrors.UnknownProvider(providerId));
        }

        if (string.IsNullOrEmpty(callback.State))
        {
            LogCallbackRefused(logger, providerId, BrokerErrors.MissingState.Code);
            return CallbackOutcome.Fail(BrokerErrors.MissingState);
        }

        var flow = await flows.FindAsync(FlowSecrets.Fingerprint(callback.State), ct);
        // Note: a flow for another provider is treated as unknown: a callback on the wrong provider's route is
        // either a mix-up or a forgery, and neither may reach a token endpoint.
        if (flow is null || flow.ProviderId != providerId)
        {
            LogCallbackRefused(logger, providerId, BrokerErrors.InvalidState.Code);
            return CallbackOutcome.Fail(BrokerErrors.InvalidState);
        }

        if (browserBinding is null || !FlowSecrets.FingerprintsEqual(flow.BrowserFingerprint, FlowSecrets.Fingerprint(browserBinding)))
        {
            // Not consumed: the flow still belongs to the browser that started it.
            LogCallbackRefused(logger, providerId, BrokerErrors.BrowserMismatch.Code);
            return CallbackOutcome.Fail(BrokerErrors.BrowserMismatch);
        }

        if (!await flows.TryConsumeAsync(flow, ct))
        {
            LogCallbackRefused(logger, providerId, "state_replayed");
            return CallbackOutcome.Fail(BrokerErrors.InvalidState);
        }

        if (time.GetUtcNow() > flow.ExpiresAt)
        {
            return Failed(flow, FlowErrorCodes.FlowExpired);
        }

        // RFC 9207: the issuer is checked first, for error responses too.
        var response = new AuthorizationResponse(callback.Issuer, callback.Extra);
        if (await provider.CheckAuthorizationResponseAsync(response, ct) is { } refused)
        {
            LogExchangeFailed(logger, providerId, refused.Kind, refused.ProviderCode);
            return Failed(flow, ErrorCodeFor(refused.Kind));
        }

        if (!string.IsNullOrEmpty(callback.Error))
        {
            // The provider's own error code is not echoed: only a fixed vocabulary reaches the return URL.
            return Failed(flow, FlowErrorCodes.AccessDenied);
        }

        if (string.IsNullOrEmpty(callback.Code))
        {
            return Failed(flow, FlowErrorCodes.InvalidCallback);
        }

        var grant = await provider.CompleteAuthorizationAsync(new AuthorizationCompletion(callback.Code, flow.RedirectUri, flow.CodeVerifier, flow.Nonce, response), ct);
        if (!grant.Succeeded)
        {
            LogExchangeFailed(logger, providerId, grant.Failure.Kind, grant.Failure.ProviderCode);
            return Failed(flow, ErrorCodeFor(grant.Failure.Kind));
        }

        string completionCode;
        try
        {
            completionCode = await pendingLinks.HoldAsync(flow, grant.Value, ct);
        }
        catch (StorageUnavailableException)
        {
            // Nobody will ever confirm this grant: give it back to the provider where it allows.
            await provider.RevokeAsync(grant.Value.Credential, CT.None);
            return Failed(flow, FlowErrorCodes.StorageUnavailable);
        }

        LogPending(logger, providerId);
        return CallbackOutcome.Redirect(PendingReturn(flow, completionCode));
    }

    /// <summary>
    /// The return URL with <c>oauth_result=pending</c> and the completion code in the fragment. A fragment never
    /// reaches a server (RFC 9110 §7.1: "fragment identifiers are reserved for client-side processing") and is
    /// stripped from every Referer (W3C Referrer Policy, "strip url for use as a referrer"), keeping the code out of
    /// logs and third parties (RFC 9700 §4.2); the frontend removes it from its history entry at once (RFC 9700
    /// §4.3), and it is single-use, browser-bound and short-lived anyway.
    /// </summary>
    private static Uri PendingReturn(AuthorizationFlow flow, string completionCode) =>
        new UriBuilder(QueryString.Append(flow.ReturnUrl, (ReturnParameters.Provider, flow.ProviderId), (ReturnParameters.Result, ReturnParameters.Pending)))
        {
            Fragment = ReturnParameters.Completion + "=" + completionCode,
        }.Uri;

    private CallbackOutcome Failed(AuthorizationFlow flow, string code)
    {
        LogFlowFailed(logger, flow.ProviderId, code);
        return CallbackOutcome.Redirect(QueryString.Append(flow.ReturnUrl,
            (ReturnParameters.Provider, flow.ProviderId), (ReturnParameters.Result, ReturnParameters.Failed), (ReturnParameters.Error, code)));
    }

    private static string ErrorCodeFor(ProviderFailureKind kind) => kind switch
    {
        ProviderFailureKind.AccessDenied => FlowErrorCodes.AccessDenied,
        ProviderFailureKind.InvalidClient => FlowErrorCodes.ProviderMisconfigured,
        ProviderFailureKind.AccountNotEligible => FlowErrorCodes.AccountNotEligible,
        ProviderFailureKind.Unavailable or ProviderFailureKind.RateLimited => FlowErrorCodes.ProviderUnavailable,
        ProviderFailureKind.InvalidResponse => FlowErrorCodes.ProviderInvalidResponse,
        ProviderFailureKind.IssuerMismatch => FlowErrorCodes.IssuerMismatch,
        ProviderFailureKind.RestartRequired => FlowErrorCodes.RestartRequired,
        _ => FlowErrorCodes.ProviderRejected,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Authorization flow started for provider {ProviderId}")]
    private static partial void LogFlowStarted(ILogger logger, string providerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Callback for provider {ProviderId} refused: {Reason}")]
    private static partial void LogCallbackRefused(ILogger logger, string providerId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Authorization with {ProviderId} failed: {Kind} ({ProviderCode})")]
    private static partial void LogExchangeFailed(ILogger logger, string providerId, ProviderFailureKind kind, string providerCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Authorization flow for {ProviderId} ended without a link: {ErrorCode}")]
    private static partial void LogFlowFailed(ILogger logger, string providerId, string errorCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider leg at {ProviderId} finished; the link waits for its user's confirmation")]
    private static partial void LogPending(ILogger logger, string providerId);
}
