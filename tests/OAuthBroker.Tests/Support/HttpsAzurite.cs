using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// Azurite's Table service over HTTPS with its OAuth check on (<see cref="AzuriteHttps"/>), in memory, on a free port;
/// stopped, by process id, when the server is disposed.
/// </summary>
public static class HttpsAzurite
{
    /// <param name="certificates">Holds <c>certificate.pem</c> and <c>key.pem</c> for 127.0.0.1.</param>
    public static Task<AzuriteServer> StartAsync(string certificates) =>
        AzuriteServer.StartAsync(RepositoryRoot.Find(), FreePort.Next(),
            https: new AzuriteHttps(Path.Combine(certificates, "certificate.pem"), Path.Combine(certificates, "key.pem")));
}
