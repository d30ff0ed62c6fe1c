using Microsoft.Extensions.Configuration;

namespace OAuthBroker.Providers;

/// <summary>Turns one <c>Providers:{id}</c> section into a provider of one dialect.</summary>
public interface IProviderDialect
{
    /// <summary>The dialect's name in configuration (<c>Dialect</c>), e.g. <c>bybit</c> or <c>oauth2</c>.</summary>
    string Name { get; }

    /// <summary>Binds and validates the section; adds every problem to <paramref name="errors"/> and returns null then.</summary>
    IOAuthProvider? Create(string id, IConfigurationSection section, IServiceProvider services, string prefix, ICollection<string> errors);
}
