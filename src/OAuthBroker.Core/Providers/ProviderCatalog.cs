namespace OAuthBroker.Providers;

/// <summary>The enabled providers, by id (case-sensitive, lowercase by convention).</summary>
public sealed class ProviderCatalog(IEnumerable<IOAuthProvider> providers)
{
    private readonly Dictionary<string, IOAuthProvider> _byId =
        providers.ToDictionary(p => p.Descriptor.Id, StringComparer.Ordinal);

    public IReadOnlyCollection<ProviderDescriptor> Descriptors => _byId.Values.Select(p => p.Descriptor).ToArray();

    public IOAuthProvider? Find(string providerId) => _byId.GetValueOrDefault(providerId);
}
