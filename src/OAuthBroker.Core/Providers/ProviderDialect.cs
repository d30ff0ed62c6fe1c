using Microsoft.Extensions.Configuration;

namespace OAuthBroker.Providers;

/// <summary>A dialect whose settings are <typeparamref name="TOptions"/> bound from the provider's section.</summary>
public abstract class ProviderDialect<TOptions> : IProviderDialect where TOptions : ProviderOptions, new()
{
    public abstract string Name { get; }

    public IOAuthProvider? Create(string id, IConfigurationSection section, IServiceProvider services, string prefix, ICollection<string> errors)
    {
        var options = new TOptions();
        try
        {
            Bind(section, options);
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

    /// <summary>
    /// Binds the section onto <paramref name="options"/>. Each dialect makes this call with its concrete options type, so
    /// the configuration binding source generator emits the binding code: a generic <c>Bind</c> on
    /// <typeparamref name="TOptions"/> would fall back to reflection (SYSLIB1104), which is slower to start and is lost
    /// when the package is trimmed (bench/startup.md).
    /// </summary>
    protected abstract void Bind(IConfigurationSection section, TOptions options);

    protected abstract IOAuthProvider Create(string id, TOptions options, IServiceProvider services);
}
