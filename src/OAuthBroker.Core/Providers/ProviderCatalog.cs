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

/// <summary>Turns one <c>Providers:{id}</c> section into a provider of one dialect.</summary>
public interface IProviderDialect
{
    /// <summary>The dialect's name in configuration (<c>Dialect</c>), e.g. <c>bybit</c> or <c>oauth2</c>.</summary>
    string Name { get; }

    /// <summary>Binds and validates the section; adds every problem to <paramref name="errors"/> and returns null then.</summary>
    IOAuthProvider? Create(string id, IConfigurationSection section, IServiceProvider services, string prefix, ICollection<string> errors);
}

/// <summary>A dialect whose settings are <typeparamref name="TOptions"/> bound from the provider's section.</summary>
public abstract class ProviderDialect<TOptions> : IProviderDialect where TOptions : ProviderOptions, new()
{
    public abstract string Name { get; }

    public IOAuthProvider? Create(string id, IConfigurationSection section, IServiceProvider services, string prefix, ICollection<string> errors)
    {
        var options = new TOptions();
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add($"{prefix}: {ex.Message}");
            return null;
        }

        var problems = options.Validate(prefix).ToList();
        foreach (var problem in problems)
        {
            errors.Add(problem);
        }

        if (problems.Count > 0)
        {
            return null;
        }

        // Note: the dialect carries options.RefreshMargin on its descriptor itself; a wrapper here would hide the optional
        // interfaces a provider implements (e.g. IDeferredAuthorization).
        return Create(id, options, services);
    }

    protected abstract IOAuthProvider Create(string id, TOptions options, IServiceProvider services);
}

public static class ProviderIds
{
    /// <summary>Provider ids are lowercase letters, digits and dashes, at most 32 characters.</summary>
    public static bool IsWellFormed(string value) =>
        value.Length is > 0 and <= 32 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
