using Microsoft.Extensions.Configuration;

namespace OAuthBroker.Providers;

/// <summary>
/// The enabled providers, built from configuration: every child of <c>Providers</c> is one provider whose key is
/// its id and whose dialect turns the section into an <see cref="IOAuthProvider"/>. Adding a standard OAuth 2.0 /
/// OpenID Connect provider is configuration only.
/// </summary>
public sealed class ProviderCatalog
{
    public const string SectionName = "Providers";

    private readonly Dictionary<string, IOAuthProvider> _byId;

    public ProviderCatalog(IEnumerable<IOAuthProvider> providers) =>
        _byId = providers.ToDictionary(p => p.Descriptor.Id, StringComparer.Ordinal);

    public IReadOnlyCollection<ProviderDescriptor> Descriptors => _byId.Values.Select(p => p.Descriptor).OrderBy(d => d.Id, StringComparer.Ordinal).ToArray();

    public IOAuthProvider? Find(string providerId) => _byId.GetValueOrDefault(providerId);

    /// <summary>Builds the catalogue, or throws listing every configuration error at once.</summary>
    public static ProviderCatalog Build(IConfiguration configuration, IEnumerable<IProviderDialect> dialects, IServiceProvider services)
    {
        var byName = dialects.ToDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase);
        var errors = new List<string>();
        var providers = new List<IOAuthProvider>();
        foreach (var section in configuration.GetSection(SectionName).GetChildren())
        {
            var id = section.Key.ToLowerInvariant();
            var prefix = $"{SectionName}:{section.Key}";
            if (!ProviderIds.IsWellFormed(id))
            {
                errors.Add($"{prefix}: provider ids are 1–32 lowercase letters, digits and dashes.");
                continue;
            }

            if (string.Equals(section["Enabled"], "false", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var dialectName = section["Dialect"] ?? (byName.ContainsKey(id) ? id : "oauth2");
            if (!byName.TryGetValue(dialectName, out var dialect))
            {
                errors.Add($"{prefix}:Dialect '{dialectName}' is not one of {string.Join(", ", byName.Keys.Order(StringComparer.Ordinal))}.");
                continue;
            }

            var provider = dialect.Create(id, section, services, prefix, errors);
            if (provider is not null)
            {
                providers.Add(provider);
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Provider configuration is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => " - " + e)));
        }

        return new ProviderCatalog(providers);
    }
}
