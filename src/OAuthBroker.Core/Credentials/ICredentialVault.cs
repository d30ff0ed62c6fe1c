namespace OAuthBroker.Credentials;

/// <summary>
/// Where provider credentials live. One secret per link holds the whole credential (tokens and API key) as
/// one document, so a refresh is one write and a reader never sees half of an update. Every write is a new
/// version with its own id; a link row names the exact version it describes (<see cref="Links.AccountLink.CredentialVersion"/>).
/// </summary>
public interface ICredentialVault
{
    /// <summary>
    /// Writes a new version of the credential under <paramref name="name"/>, tagged with what it belongs to
    /// (<see cref="VaultedCredential.Link"/>, <see cref="VaultedCredential.GrantId"/>; never personal data), and returns
    /// the new version's id. Failures are <see cref="Errors.VaultUnavailableException"/> with their <see cref="Errors.VaultFailure"/>.
    /// </summary>
    Task<string> WriteAsync(string name, VaultedCredential credential, CT ct);

    /// <summary>
    /// The latest version, or null when the secret does not exist (or was deleted). "Latest" is whatever write the vault
    /// committed last, which may be an older document written late (a retried write), or lag behind the newest write (a
    /// vault allow-listed for higher throughput): never a basis for spending on its own.
    /// </summary>
    Task<VaultedCredential?> ReadAsync(string name, CT ct);

    /// <summary>Exactly the version <paramref name="version"/>, or null when it does not exist (or is not visible yet).</summary>
    Task<VaultedCredential?> ReadVersionAsync(string name, string version, CT ct);

    /// <summary>
    /// Deletes the secret and, where the vault allows, purges it; says what is left. Succeeds when it is already gone.
    /// The name must never be used again.
    /// </summary>
    Task<CredentialErasure> DeleteAsync(string name, CT ct);

    /// <summary>One page of the broker's secrets (name and tags, never values), from <paramref name="continuation"/> on.</summary>
    Task<VaultListing> ListAsync(string? continuation, CT ct);
}
