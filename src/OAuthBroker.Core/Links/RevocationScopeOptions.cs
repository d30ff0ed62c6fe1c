using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OAuthBroker.Providers;

namespace OAuthBroker.Links;

/// <summary>
/// Each provider's <see cref="RevocationScope"/>, read from <c>Providers:{id}:RevocationScope</c> (default
/// <see cref="RevocationScope.Grant"/>). It decides whether a grant the broker no longer needs (replaced by a re-link,
/// or left behind in an orphaned secret) may be revoked while the user has a live link with that provider.
/// </summary>
public sealed class RevocationScopeOptions
{
    private readonly Dictionary<string, RevocationScope> _byProvider = new(StringComparer.Ordinal);
    private readonly List<string> _invalid = [];

    public RevocationScope For(string providerId) => _byProvider.GetValueOrDefault(providerId, RevocationScope.Grant);

    /// <summary>Reads every provider section's <c>RevocationScope</c>; values that are not a scope are kept for validation.</summary>
    public static void Read(IConfiguration configuration, RevocationScopeOptions options)
    {
        foreach (var section in configuration.GetSection(ProviderCatalog.SectionName).GetChildren())
        {
            if (section[nameof(RevocationScope)] is not { } raw)
            {
                continue;
            }

            if (Enum.TryParse<RevocationScope>(raw, ignoreCase: true, out var scope) && Enum.IsDefined(scope))
            {
                options._byProvider[section.Key.ToLowerInvariant()] = scope;
            }
            else
            {
                options._invalid.Add($"{ProviderCatalog.SectionName}:{section.Key}:{nameof(RevocationScope)} '{raw}' is not one of {string.Join(", ", Enum.GetNames<RevocationScope>())}.");
            }
        }
    }

    internal sealed class Validator : IValidateOptions<RevocationScopeOptions>
    {
        public ValidateOptionsResult Validate(string? name, RevocationScopeOptions options) =>
            options._invalid.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options._invalid);
    }
}
