using System.Diagnostics;

namespace OAuthBroker.LocalEnvironment;

/// <summary>
/// Azurite's Table service as a child process, installed from the repository's pinned package.json
/// (<c>npm ci</c> on first use). Plain HTTP by default; with <see cref="AzuriteHttps"/>, HTTPS with Azurite's OAuth check
/// on. Stopped, with its whole process tree, on dispose.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private readonly Process _process;
    private readonly string _scheme;

    private AzuriteServer(Process process, int port, string scheme)
    {
        _process = process;
        _scheme = scheme;
        Port = port;
        TableServiceUri = $"{scheme}://127.0.0.1:{port}/devstoreaccount1";
    }

    public int Port { get; }

    /// <summary>The development account's Table endpoint, path-style (as <c>Storage__TableServiceUri</c> is set).</summary>
    public string TableServiceUri { get; }

    /// <summary>Azurite's development account, path-style, on this server's port.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol={_scheme};AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint={TableServiceUri};";

    /// <param name="location">Folder to persist data in; null keeps everything in memory.</param>
    /// <param name="https">Serve HTTPS with Azurite's OAuth check on; null serves plain HTTP.</param>
    public static async Task<AzuriteServer> StartAsync(string repositoryRoot, int port, string? location = null, AzuriteHttps? https = null)
    {
        await EnsureInstalledAsync(repositoryRoot);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = repositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(repositoryRoot, "node_modules", "azurite", "dist", "src", "table", "main.js"));
        foreach (var argument in new[] { "--tableHost", "127.0.0.1", "--tablePort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--disableTelemetry" })
        {
            start.ArgumentList.Add(argument);
        }

        if (https is not null)
        {
            // Azurite README, "HTTPS Setup" and "OAuth Configuration": --oauth needs HTTPS.
            foreach (var argument in new[] { "--cert", https.CertificatePath, "--key", https.KeyPath, "--oauth", "basic" })
            {
                start.ArgumentList.Add(argument);
            }
        }

        if (location is null)
        {
            start.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(location);
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(location);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new AzuriteServer(process, port, https is null ? "http" : "https");
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
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Killed but slow to be reaped; nothing else to do.
            }
        }

        _process.Dispose();
    }

    private static async Task EnsureInstalledAsync(string repositoryRoot)
    {
        var marker = Path.Combine(repositoryRoot, "node_modules", "azurite", "package.json");
        if (File.Exists(marker))
        {
            return;
        }

        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(marker))
            {
                return;
            }

            var npm = Process.Start(new ProcessStartInfo("npm", "ci --no-audit --no-fund") { WorkingDirectory = repositoryRoot, UseShellExecute = false })
                ?? throw new InvalidOperationException("Could not run npm.");
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await npm.WaitForExitAsync(timeout.Token);
            if (npm.ExitCode != 0 || !File.Exists(marker))
            {
                throw new InvalidOperationException("`npm ci` failed; Azurite is not installed. Run it in the repository root and look at its output.");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }
}
