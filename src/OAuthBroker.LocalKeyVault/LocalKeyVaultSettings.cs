namespace OAuthBroker.LocalKeyVault;

public sealed class LocalKeyVaultSettings
{
    /// <summary>HTTPS port on 127.0.0.1. Default 7443.</summary>
    public int Port { get; set; } = 7443;

    /// <summary>The bearer token callers must present after the challenge.</summary>
    public string AccessToken { get; set; } = "local-development-vault-token";

    /// <summary>Where the certificate (certificate.pem, key.pem) is kept; reused while valid so pins stay stable.</summary>
    public string CertificateDirectory { get; set; } = Path.Combine(".local", "keyvault");

    /// <summary>Optional JSON file that keeps secrets across restarts (local runs). Null: memory only.</summary>
    public string? DataFile { get; set; }

    /// <summary>Secret writes allowed per 10 s before answering 429, like a real vault (~300). 0: unlimited.</summary>
    public int WritesPer10Seconds { get; set; }
}
