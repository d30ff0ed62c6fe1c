using Microsoft.Extensions.Logging;
using OAuthBroker.Providers.Http;

namespace OAuthBroker.Providers.Generic;

/// <summary>
/// A provider's endpoints: from configuration, or discovered (OpenID Connect Discovery §4, then RFC 8414 §3) and
/// cached for <see cref="GenericOAuthOptions.MetadataLifetime"/>. A discovered document must name the expected issuer
/// (Discovery §4.3, RFC 8414 §3.3) and keep every endpoint where <see cref="MetadataEndpointPolicy"/> allows.
/// </summary>
public sealed partial class MetadataSource(string providerId, string displayName, GenericOAuthOptions options, ProviderHttpClient http, TimeProvider time, ILogger logger)
{
    private readonly Lock _gate = new();
    private readonly MetadataEndpointPolicy _policy = new(options);
    private (ServerMetadata Metadata, DateTimeOffset ReadAt)? _cached;

    public async Task<ProviderResult<ServerMetadata>> GetAsync(CT ct)
    {
        if (!options.Discovers)
        {
            return new ServerMetadata(options.Issuer, new Uri(options.AuthorizationEndpoint!), new Uri(options.TokenEndpoint!),
                options.RevocationEndpoint is null ? null : new Uri(options.RevocationEndpoint),
                options.UserinfoEndpoint is null ? null : new Uri(options.UserinfoEndpoint),
                options.RequireIssParameter ?? false);
        }

        lock (_gate)
        {
            if (_cached is { } cached && time.GetUtcNow() - cached.ReadAt < options.MetadataLifetime)
            {
                return cached.Metadata;
            }
        }

        ProviderFailure? lastFailure = null;
        foreach (var url in DiscoveryUrls())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("application/json");
            var sent = await http.SendAsync(providerId, "discovery", request, ct);
            if (!sent.Succeeded)
            {
                lastFailure = sent.Failure;
                continue;
            }

            using var response = sent.Value;
            if (!response.IsSuccessStatus || response.Json is null)
            {
                lastFailure = response.TransportFailure("discovery") ?? new ProviderFailure(ProviderFailureKind.InvalidResponse, $"http_{(int)response.Status}", $"{displayName}'s metadata at {url} is not usable.");
                continue;
            }

            var (discovered, refusal) = ServerMetadata.Read(response.Json.RootElement, _policy);
            if (discovered is null)
            {
                LogMetadataRefused(logger, providerId, refusal!);
                return new ProviderFailure(ProviderFailureKind.InvalidResponse, "metadata_refused",
                    $"{displayName}'s metadata is refused ({refusal}); allow the host in AllowedEndpointHosts if it is genuine.");
            }

            if (!IsExpectedIssuer(discovered.Issuer))
            {
                return new ProviderFailure(ProviderFailureKind.IssuerMismatch, "metadata_issuer", $"{displayName}'s metadata names another issuer than configured.");
            }

            var effective = discovered with
            {
                AuthorizationEndpoint = options.AuthorizationEndpoint is null ? discovered.AuthorizationEndpoint : new Uri(options.AuthorizationEndpoint),
                TokenEndpoint = options.TokenEndpoint is null ? discovered.TokenEndpoint : new Uri(options.TokenEndpoint),
                RevocationEndpoint = options.RevocationEndpoint is null ? discovered.RevocationEndpoint : new Uri(options.RevocationEndpoint),
                UserinfoEndpoint = options.UserinfoEndpoint is null ? discovered.UserinfoEndpoint : new Uri(options.UserinfoEndpoint),
            };
            lock (_gate)
            {
                _cached = (effective, time.GetUtcNow());
            }

            return effective;
        }

        LogDiscoveryFailed(logger, providerId, lastFailure?.ProviderCode ?? "none");
        return lastFailure ?? new ProviderFailure(ProviderFailureKind.Unavailable, "discovery", $"{displayName}'s metadata could not be read.");
    }

    /// <summary>
    /// Discovery §4.3 / RFC 8414 §3.3: exactly the configured issuer. Without one, the issuer the well-known URL implies
    /// (a trailing '/' aside, which some issuers carry and the URL cannot show); the document's own spelling then counts.
    /// </summary>
    private bool IsExpectedIssuer(string? discovered) =>
        discovered is not null && (options.Issuer is { } configured
            ? discovered == configured
            : options.ExpectedIssuer is { } implied && discovered.TrimEnd('/') == implied.TrimEnd('/'));

    private IEnumerable<Uri> DiscoveryUrls()
    {
        if (options.DiscoveryUrl is not null)
        {
            yield return new Uri(options.DiscoveryUrl);
            yield break;
        }

        var issuer = new Uri(options.Issuer!);
        yield return WellKnown.OpenIdConfigurationOf(issuer);
        yield return WellKnown.OAuthAuthorizationServerOf(issuer);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Metadata of provider {ProviderId} could not be read ({Reason})")]
    private static partial void LogDiscoveryFailed(ILogger logger, string providerId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Metadata of provider {ProviderId} refused: {Refusal}")]
    private static partial void LogMetadataRefused(ILogger logger, string providerId, string refusal);
}
