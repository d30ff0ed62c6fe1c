namespace OAuthBroker.Providers;

/// <summary>
/// Settings every provider has (section <c>Providers:{id}</c>). Each dialect's options derive from this and add
/// their endpoints and quirk switches, with documented defaults.
/// </summary>
public abstract class ProviderOptions
{
    /// <summary>Which dialect speaks to this provider. Default: the id when it names one (bybit, whitebit, builtbybit), else <c>oauth2</c>.</summary>
    public string? Dialect { get; set; }

    /// <summary>Offer this provider. Default true: a configured provider is offered unless switched off.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Name shown to users. Default: the dialect's own (e.g. "Bybit").</summary>
    public string? DisplayName { get; set; }

    /// <summary>The broker's client id at the provider. Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>The broker's client secret. Required; in Azure a Key Vault reference in app settings.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Refresh this long before the access token expires. Default: <c>Refresh:DefaultMargin</c>.</summary>
    public TimeSpan? RefreshMargin { get; set; }

    /// <summary>Collects every configuration error; <paramref name="prefix"/> is <c>Providers:{id}</c>.</summary>
    public virtual IEnumerable<string> Validate(string prefix)
    {
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            yield return $"{prefix}:ClientId is required.";
        }

        if (string.IsNullOrWhiteSpace(ClientSecret))
        {
            yield return $"{prefix}:ClientSecret is required.";
        }
    }

    protected static IEnumerable<string> ValidateEndpoint(string prefix, string name, string? value, bool required = false)
    {
        if (value is null)
        {
            if (required)
            {
                yield return $"{prefix}:{name} is required.";
            }

            yield break;
        }

        if (!EndpointRules.IsAcceptableEndpoint(value, out _))
        {
            yield return $"{prefix}:{name} must be an absolute https URL (http only for loopback).";
        }
    }
}
