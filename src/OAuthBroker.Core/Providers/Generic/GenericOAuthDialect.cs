using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OAuthBroker.Providers.Generic;

/// <summary>The <c>oauth2</c> dialect: any standard provider, configuration only.</summary>
public sealed class GenericOAuthDialect : ProviderDialect<GenericOAuthOptions>
{
    public const string DialectName = "oauth2";

    public override string Name => DialectName;

    protected override void Bind(IConfigurationSection section, GenericOAuthOptions options) => section.Bind(options);

    protected override IOAuthProvider Create(string id, GenericOAuthOptions options, IServiceProvider services) =>
        ActivatorUtilities.CreateInstance<GenericOAuthProvider>(services, id, options);
}
