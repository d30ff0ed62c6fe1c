using System.Diagnostics;
using System.Globalization;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Support;

/// <summary>
/// Azurite's Table service over HTTPS with its OAuth check on (<c>--cert</c>, <c>--key</c>, <c>--oauth basic</c>;
/// Azurite README, "HTTPS Setup" and "OAuth Configuration"): a bearer token is accepted only over HTTPS and only with
/// a storage audience, an Entra issuer and a valid lifetime (<c>dist/src/table/authentication/TableTokenAuthenticator.js</c>),
/// as a deployed app's managed identity token has. In memory; stopped, by process id, on dispose.
/// </summary>
public sealed class HttpsAzurite : IAsyncDisposable
{
    private readonly Process _process;

    private HttpsAzurite(Process process, int port)
    {
        _process = process;
        TableServiceUri = $"https://127.0.0.1:{port}/devstoreaccount1";
    }

    /// <summary>The development account's Table endpoint, path-style (as <c>Storage__TableServiceUri</c> is set).</summary>
    public string TableServiceUri { get; }

    /// <param name="certificates">Holds <c>certificate.pem</c> and <c>key.pem</c> for 127.0.0.1.</param>
    public static async Task<HttpsAzurite> StartAsync(string certificates)
    {
        var root = RepositoryRoot.Find();
        var port = FreePort.Next();
        var start = new ProcessStartInfo("node") { WorkingDirectory = root, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            Path.Combine(root, "node_modules", "azurite", "dist", "src", "table", "main.js"),
            "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture),
            "--cert", Path.Combine(certificates, "certificate.pem"), "--key", Path.Combine(certificates, "key.pem"),
            "--oauth", "basic", "--inMemoryPersistence", "--silent", "--disableTelemetry",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new HttpsAzurite(process, port);
        try
        {
            await FreePort.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(30), () => !process.HasExited);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
