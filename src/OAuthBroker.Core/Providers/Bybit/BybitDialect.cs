using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OAuthBroker.Providers.Bybit;

/// <summary>The <c>bybit</c> dialect.</summary>
public sealed class BybitDialect : ProviderDialect<BybitOptions>
{
    public override string Name => BybitDefaults.ProviderId;

    protected override void Bind(IConfigurationSection section, BybitOptions options) => section.Bind(options);

    protected override IOAuthProvider Create(string id, BybitOptions options, IServiceProvider services) =>
        ActivatorUtilities.CreateInstance<BybitProvider>(services, id, options);
}
