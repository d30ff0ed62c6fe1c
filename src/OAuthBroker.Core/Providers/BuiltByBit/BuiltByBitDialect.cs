using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OAuthBroker.Providers.BuiltByBit;

/// <summary>The <c>builtbybit</c> dialect.</summary>
public sealed class BuiltByBitDialect : ProviderDialect<BuiltByBitOptions>
{
    public override string Name => BuiltByBitDefaults.DialectName;

    protected override void Bind(IConfigurationSection section, BuiltByBitOptions options) => section.Bind(options);

    protected override IOAuthProvider Create(string id, BuiltByBitOptions options, IServiceProvider services) =>
        ActivatorUtilities.CreateInstance<BuiltByBitProvider>(services, id, options);
}
