using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OAuthBroker.Sealing;

namespace OAuthBroker.Storage.Sealing;

public static class SealingStorageServiceCollectionExtensions
{
    /// <summary>With <c>Sealing:KeyVaultSecretName</c> set, the key ring comes from that Key Vault secret's versions instead of configuration.</summary>
    public static IServiceCollection AddKeyVaultSealingKeys(this IServiceCollection services, IConfiguration configuration)
    {
        if (!string.IsNullOrEmpty(configuration[$"{SealingOptions.SectionName}:{nameof(SealingOptions.KeyVaultSecretName)}"]))
        {
            services.TryAddSingleton<KeyVaultSealingKeyRing>();
            services.Replace(ServiceDescriptor.Singleton<ISealingKeyRing>(sp => sp.GetRequiredService<KeyVaultSealingKeyRing>()));
        }

        return services;
    }
}
