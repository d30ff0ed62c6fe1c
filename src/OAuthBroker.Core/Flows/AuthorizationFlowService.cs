using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OAuthBroker.Errors;
using OAuthBroker.Providers;

namespace OAuthBroker.Flows;

/// <summary>
/// Runs the authorization-code flow: starts it (state, PKCE, nonce, the flow sealed for the browser's cookie: no
/// storage) and finishes the provider leg (the sealed flow opened for this state and provider, the browser checked,
/// single use recorded, code exchanged). A callback that fails any check creates nothing; one that succeeds creates
/// only a pending link, which the flow's user confirms in the completion step (<see cref="LinkCompletionService"/>).
/// </summary>
public sealed partial class AuthorizationFlowService(
    ProviderCatalog providers,
    SealedFlows sealedFlows,
    IUsedStateStore usedStates,
    PendingLinks pendingLinks,
    ReturnUrlPolicy returnUrls,
    IOptions<BrokerOptions> options,
    TimeProvider time,
    ILogger<AuthorizationFlowService> logger)
{
    /// <summary>
    /// Starts a flow for <paramref name="userId"/> in the browser identified by <paramref name="browserBinding"/>.
    /// Touches no storage: the flow travels sealed in the browser's cookie (<see cref="StartedFlow.SealedFlow"/>).
    /// </summary>
    /// <param name="completionChallenge">From a start ticket: the S256 challenge the completion step will check.</param>
    /// <returns>The provider URL and the sealed flow for the browser, or why not.</returns>
    public async Task<(StartedFlow? Started, BrokerError? Error)> StartAsync(
        string userId, string providerId, string? returnUrl, string browserBinding, string? completionChallenge, CT ct)
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

        var stateFingerprint = FlowSecrets.Fingerprint(state);
        var flow = new AuthorizationFlow
        {
            StateFingerprint = stateFingerprint,
            UserId = userId,
            ProviderId = providerId,
            ReturnUrl = returnTo,
            RedirectUri = redirectUri,
            BrowserFingerprint = FlowSecrets.Fingerprint(browserBinding),
            CodeVerifier = verifier,
            Nonce = nonce,
            CompletionChallenge = completionChallenge,
            // Whole seconds: the cookie states the expiry in seconds, and the seal binds exactly that.
            ExpiresAt = DateTimeOffset.FromUnixTimeSeconds((time.GetUtcNow() + options.Value.FlowLifetime).ToUnixTimeSeconds()),
        };
        var sealedFlow = await sealedFlows.SealAsync(flow, ct);

        LogFlowStarted(logger, providerId);
        return (new StartedFlow(authorizationUrl.Value, SealedFlows.CookieIdOf(stateFingerprint), sealedFlow, flow.ExpiresAt), null);
    }

    /// <summary>
    /// Completes a flow from the provider's callback, in the browser that presents one of <paramref name="browserBindings"/>
    /// and <paramref name="sealedFlow"/>, the cookie named by <see cref="CookieIdFor"/> of the callback's state.
    /// </summary>
    public async Task<CallbackOutcome> CompleteAsync(string providerId, CallbackParameters callback, IReadOnlyList<string> browserBindings, string? sealedFlow, CT ct)
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

        var stateFingerprint = FlowSecrets.Fingerprint(callback.State);
        // Note: the seal binds the state and the provider, so a flow for another provider (a mix-up, or a forgery) does
        // not open here, and neither reaches a token endpoint. No cookie: forged, used, or another browser's flow.
        var flow = sealedFlow is null ? null : await sealedFlows.OpenAsync(stateFingerprint, providerId, sealedFlow, ct);
        if (flow is null)
        {
            LogCallbackRefused(logger, providerId, sealedFlow is null ? "no_flow_in_this_browser" : "flow_does_not_open");
            return CallbackOutcome.Fail(BrokerErrors.InvalidState);
        }

        if (!FlowSecrets.IsBoundTo(flow.BrowserFingerprint, browserBindings))
        {
            // Not used up: the flow still belongs to the browser that started it.
            LogCallbackRefused(logger, providerId, BrokerErrors.BrowserMismatch.Code);
            return CallbackOutcome.Fail(BrokerErrors.BrowserMismatch);
        }

        if (time.GetUtcNow() > flow.ExpiresAt)
        {
            return Failed(flow, FlowErrorCodes.FlowExpired);
        }

        try
        {
            if (!await usedStates.TryMarkUsedAsync(stateFingerprint, flow.ExpiresAt, ct))
            {
                LogCallbackRefused(logger, providerId, "state_replayed");
                return CallbackOutcome.Fail(BrokerErrors.InvalidState);
            }
        }
        catch (StorageUnavailableException)
        {
            // Nothing was exchanged yet, and the sealed flow says where the user came from: send them back to retry.
            return Failed(flow, FlowErrorCodes.StorageUnavailable);
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
            // Bybit's guide: a user who cancels is still redirected, with neither code nor error. For such a provider
            // that is the user saying no, and the return page should say so rather than report a broken callback.
            return Failed(flow, provider.Descriptor.CodelessCallbackMeansDenied ? FlowErrorCodes.AccessDenied : FlowErrorCodes.InvalidCallback);
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
            await pendingLinks.RevokeGrantAsync(providerId, grant.Value.Credential);
            return Failed(flow, FlowErrorCodes.StorageUnavailable);
        }

        LogPending(logger, providerId);
        return CallbackOutcome.Redirect(PendingReturn(flow, completionCode));
    }

    /// <summary>The id of the cookie that carries the flow of <paramref name="state"/>.</summary>
    public static string CookieIdFor(string state) => SealedFlows.CookieIdOf(FlowSecrets.Fingerprint(state));

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
