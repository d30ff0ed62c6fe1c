using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OAuthBroker.Providers.WhiteBit;

/// <summary>The <c>whitebit</c> dialect.</summary>
public sealed class WhiteBitDialect : ProviderDialect<WhiteBitOptions>
{
    /// <summary>One refresh pacer per application and WhiteBIT server: the 1 request/s limit is per client address.</summary>
    private static readonly ConditionalWeakTable<IServiceProvider, ConcurrentDictionary<string, WhiteBitRefreshPacer>> Pacers = new();

    public override string Name => WhiteBitDefaults.DialectName;

    protected override void Bind(IConfigurationSection section, WhiteBitOptions options) => section.Bind(options);

    protected override IOAuthProvider Create(string id, WhiteBitOptions options, IServiceProvider services)
    {
        var pacer = Pacers.GetValue(services, _ => new(StringComparer.OrdinalIgnoreCase))
            .GetOrAdd(options.ResolvedServer.Authority, _ => new WhiteBitRefreshPacer(services.GetRequiredService<TimeProvider>()));
        return ActivatorUtilities.CreateInstance<WhiteBitProvider>(services, id, options, pacer);
    }
}
