using Microsoft.Extensions.Options;

namespace OAuthBroker.Providers.Bybit;

/// <summary>Settings of the Bybit provider (section <c>Providers:Bybit</c>).</summary>
public sealed class BybitOptions
{
    public const string SectionName = "Providers:Bybit";

    /// <summary>Offer Bybit at all. Default false: an operator turns it on with the client credentials.</summary>
    public bool Enabled { get; set; }

    /// <summary>Broker client id from Bybit's OAuth admin portal. Required when enabled.</summary>
    public string? ClientId { get; set; }

    /// <summary>Broker client secret. Required when enabled; in Azure a Key Vault reference.</summary>
    public string? ClientSecret { get; set; }

    /// <summary><see cref="BybitEnvironment.Mainnet"/> (default) or <see cref="BybitEnvironment.Testnet"/>.</summary>
    public BybitEnvironment Environment { get; set; } = BybitEnvironment.Mainnet;

    /// <summary>Overrides the authorize URL of <see cref="Environment"/> (the sandbox uses this).</summary>
    public string? AuthorizeUrl { get; set; }

    /// <summary>Overrides the API base URL of <see cref="Environment"/> (the sandbox uses this).</summary>
    public string? ApiBaseUrl { get; set; }

    /// <summary>Requested scope. Default <c>openapi</c>; other values need Bybit's approval.</summary>
    public string Scope { get; set; } = BybitDefaults.DefaultScope;

    /// <summary>Where the account UID comes from. Default: the access token's claim, then the uid endpoint.</summary>
    public BybitAccountIdSource AccountIdSource { get; set; } = BybitAccountIdSource.TokenClaimThenUidEndpoint;

    /// <summary>User-Agent for the token call. Default: a desktop browser's, as Bybit's docs show.</summary>
    public string UserAgent { get; set; } = BybitDefaults.BrowserUserAgent;

    public Uri ResolvedAuthorizeUrl => new(AuthorizeUrl ?? (Environment == BybitEnvironment.Testnet
        ? BybitDefaults.TestnetAuthorizeUrl : BybitDefaults.MainnetAuthorizeUrl));

    public Uri ResolvedApiBaseUrl => new(ApiBaseUrl ?? (Environment == BybitEnvironment.Testnet
        ? BybitDefaults.TestnetApiBaseUrl : BybitDefaults.MainnetApiBaseUrl));

    /// <summary>Collects every configuration error at start-up, so a bad deploy fails before the first user does.</summary>
    internal sealed class Validator : IValidateOptions<BybitOptions>
    {
        public ValidateOptionsResult Validate(string? name, BybitOptions options)
        {
            if (!options.Enabled)
            {
                return ValidateOptionsResult.Success;
            }

            var errors = new List<string>();
            if (string.IsNullOrWhiteSpace(options.ClientId))
            {
                errors.Add($"{SectionName}:ClientId is required when Bybit is enabled.");
            }

            if (string.IsNullOrWhiteSpace(options.ClientSecret))
            {
                errors.Add($"{SectionName}:ClientSecret is required when Bybit is enabled.");
            }

            if (options.AuthorizeUrl is not null && !EndpointRules.IsAcceptableEndpoint(options.AuthorizeUrl, out _))
            {
                errors.Add($"{SectionName}:AuthorizeUrl must be an absolute https URL (http only for loopback).");
            }

            if (options.ApiBaseUrl is not null && !EndpointRules.IsAcceptableEndpoint(options.ApiBaseUrl, out _))
            {
                errors.Add($"{SectionName}:ApiBaseUrl must be an absolute https URL (http only for loopback).");
            }

            if (string.IsNullOrWhiteSpace(options.Scope))
            {
                errors.Add($"{SectionName}:Scope must not be empty.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}

public enum BybitEnvironment
{
    Mainnet,
    Testnet,
}

/// <summary>
/// The UID is confirmed inside the access token (<c>GrantMemberID</c>); the <c>uid_bearer</c> endpoint is the
/// other documented reading (UNCONFIRMED shape). Both are supported.
/// </summary>
public enum BybitAccountIdSource
{
    TokenClaimThenUidEndpoint,
    TokenClaim,
    UidEndpoint,
}
