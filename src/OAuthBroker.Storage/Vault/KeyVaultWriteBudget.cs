using Microsoft.Extensions.Options;
using OAuthBroker.Credentials;

namespace OAuthBroker.Storage.Vault;

/// <summary>The vault client's worst case for one write, from its retry settings (see <see cref="KeyVaultOptions.WorstCaseCall"/>), and how soon reads show it (<see cref="KeyVaultOptions.WriteVisibleWithin"/>).</summary>
public sealed class KeyVaultWriteBudget(IOptions<KeyVaultOptions> options) : IVaultWriteBudget
{
    public TimeSpan WorstCaseWrite => options.Value.WorstCaseCall;

    public TimeSpan WriteVisibleWithin => options.Value.WriteVisibleWithin;
}
