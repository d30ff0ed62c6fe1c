using OAuthBroker.Links;

namespace OAuthBroker.Credentials;

/// <summary>Reading the credential a link's row describes, rather than whatever the vault calls its latest version.</summary>
public static class CredentialVaultReads
{
    /// <summary>
    /// The credential <paramref name="link"/> describes: while a spend's outcome is unknown and the vault holds that
    /// spend's result (<see cref="VaultedCredential.RefreshedFrom"/>), that result (the newest tokens); otherwise the
    /// version the row names. The latest version stands in only for rows from before versions were pinned, or while the
    /// named version is not visible yet (a read lagging the write), when it can only be an earlier credential of the
    /// same grant. Null when the secret is gone.
    /// </summary>
    public static async Task<VaultedCredential?> ReadCurrentAsync(this ICredentialVault vault, AccountLink link, CT ct)
    {
        if (link.SpendingVersion is { } spent && await vault.ReadAsync(link.CredentialName, ct) is { } latest && latest.RefreshedFrom == spent)
        {
            return latest;
        }

        if (link.CredentialVersion is { } version && await vault.ReadVersionAsync(link.CredentialName, version, ct) is { } pinned)
        {
            return pinned;
        }

        return await vault.ReadAsync(link.CredentialName, ct);
    }
}
