using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using OAuthBroker.LocalEnvironment;
using OAuthBroker.LocalKeyVault;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Deployment;

/// <summary>
/// The deployable package is trimmed (src/OAuthBroker.Host/PublishedForm.props), and trimming removes what nothing
/// names statically. The path only Azure takes, managed identity, is run here from the package infra/package.sh
/// builds, with the settings the deployment gives the app (infra/app/resources.bicep: <c>Storage__TableServiceUri</c>,
/// <c>KeyVault__VaultUri</c>, <c>Sealing__KeyVaultSecretName</c>, <c>AZURE_CLIENT_ID</c>; no connection string, no
/// local vault token): Azure.Core's <c>DefaultAzureCredential</c> asks the App Service managed identity endpoint
/// (<see cref="AppServiceIdentityEndpoint"/>) for a token per resource, and Key Vault (the local HTTPS endpoint,
/// reached as <c>https://{name}.vault.azure.net/</c> through <see cref="ConnectTunnel"/>) and Table Storage (Azurite over
/// HTTPS with its OAuth check on) accept only the tokens it issued. A whole link flow then runs against the sandbox:
/// the sealing key comes from the vault, the flow and link rows go to Tables, the credential is vaulted and read back.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class TrimmedPackageTests(BrokerEnvironmentFixture fixture)
{
    private const string VaultHost = "kv-trimmed-package.vault.azure.net";

    [Fact]
    public async Task The_trimmed_package_links_an_account_with_managed_identity_tokens_for_the_vault_and_tables()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // The package targets Linux (Flex Consumption); the script is a Linux build.
        }

        var work = Directory.CreateTempSubdirectory("oauth-broker-trimmed-").FullName;
        try
        {
            var app = await PackageAsync(Path.Combine(work, "package"));
            var runtimeConfig = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "OAuthBroker.Host.runtimeconfig.json"))).RootElement;
            runtimeConfig.GetProperty("runtimeOptions").GetProperty("configProperties").GetProperty("System.Text.Json.JsonSerializer.IsReflectionEnabledByDefault").GetBoolean()
                .ShouldBeFalse("the package is trimmed: System.Text.Json has only generated code to work with");

            // One certificate for the vault's public name and loopback, served by both local services and the only root the broker trusts.
            var certificates = Path.Combine(work, "certificates");
            WriteCertificate(certificates);
            await using var identity = await AppServiceIdentityEndpoint.StartAsync();
            var vaultToken = identity.TokenFor("https://vault.azure.net");
            await using var vault = await LocalKeyVaultApp.StartAsync(new LocalKeyVaultSettings
            {
                Port = FreePort.Next(),
                AccessToken = vaultToken,
                CertificateDirectory = certificates,
            });
            // The sealing key ring, as the operator adds it (infra: Sealing__KeyVaultSecretName).
            vault.Store.Set("sealing-key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), null, null);
            await using var tunnel = new ConnectTunnel(vault.VaultUri.Port);
            await using var azurite = await HttpsAzurite.StartAsync(certificates);

            var environment = new Dictionary<string, string>
            {
                ["PATH"] = "/usr/bin:/bin",
                ["DOTNET_ROOT"] = "/nonexistent",
                // What App Service / Functions sets for the app's managed identity, and what the deployment sets for its user-assigned one.
                ["IDENTITY_ENDPOINT"] = identity.Endpoint.AbsoluteUri,
                ["IDENTITY_HEADER"] = identity.Header,
                ["AZURE_CLIENT_ID"] = identity.ClientId,
                ["Storage__TableServiceUri"] = azurite.TableServiceUri,
                ["KeyVault__VaultUri"] = $"https://{VaultHost}/",
                ["Sealing__KeyVaultSecretName"] = "sealing-key",
                // The vault's public name is reached through the tunnel; everything else on loopback directly.
                ["HTTPS_PROXY"] = $"http://127.0.0.1:{tunnel.Port}",
                ["NO_PROXY"] = "127.0.0.1,localhost",
                ["SSL_CERT_FILE"] = Path.Combine(certificates, SelfSignedCertificate.CertificateFile),
            };
            // The fixture's providers, users' issuer and backend key; not its development settings, storage or vault.
            string[] dropped = ["--urls=", "--environment=", "--Authentication:DevelopmentIdentity=", "--Storage:", "--KeyVault:", "--Sealing:", "--Events:"];
            var arguments = fixture.Environment.BrokerArguments.Where(a => !dropped.Any(d => a.StartsWith(d, StringComparison.Ordinal))).ToArray();
            await using var broker = await HandlerProcess.StartAsync(Path.Combine(app, "OAuthBroker.Host"), environment, arguments);
            // Reached by name, as the fixture's broker is: the provider sends the browser back to the public URL's callback.
            var brokerUri = new Uri($"http://localhost:{broker.Port}/");

            try
            {
                await LinkAndReadAsync(brokerUri, identity, tunnel, vault);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException { Message: var m } || !m.Contains("broker output", StringComparison.Ordinal))
            {
                throw new Xunit.Sdk.XunitException($"{ex.GetType().Name}: {ex.Message}\nbroker output (last lines):\n{broker.RecentOutput}");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private async Task LinkAndReadAsync(Uri brokerUri, AppServiceIdentityEndpoint identity, ConnectTunnel tunnel, LocalKeyVaultApp vault)
    {
        {
            var user = "trimmed-" + Guid.NewGuid().ToString("N")[..8];
            var token = await SandboxIdentity.SignInAsync(fixture, user);
            var linked = await LinkAsync(brokerUri, token, uid: 717171);
            linked.GetProperty("result").GetString().ShouldBe("linked");

            using var http = new HttpClient();
            using var read = new HttpRequestMessage(HttpMethod.Get, new Uri(brokerUri, $"api/links/bybit/717171/credential?userId={user}"));
            read.Headers.Add("X-Api-Key", fixture.BackendKey);
            using var credential = await http.SendAsync(read);
            var body = await credential.Content.ReadAsStringAsync();
            credential.StatusCode.ShouldBe(HttpStatusCode.OK, body);
            var accessToken = JsonDocument.Parse(body).RootElement.GetProperty("accessToken").GetString();
            fixture.SeenSecrets.Add(accessToken);
            accessToken.ShouldNotBeNullOrEmpty();

            // The answers built from the endpoints' generated JSON code alone: an error (RFC 9457 problem details) and the
            // OpenAPI description, whose schemas come from the same metadata.
            using var unknown = new HttpRequestMessage(HttpMethod.Get, new Uri(brokerUri, $"api/links/bybit/999/credential?userId={user}"));
            unknown.Headers.Add("X-Api-Key", fixture.BackendKey);
            using var missing = await http.SendAsync(unknown);
            missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString().ShouldNotBeNullOrEmpty();
            using var description = await http.GetAsync(new Uri(brokerUri, "api/openapi.json"));
            description.StatusCode.ShouldBe(HttpStatusCode.OK);
            JsonDocument.Parse(await description.Content.ReadAsStringAsync()).RootElement.GetProperty("components").GetProperty("schemas").EnumerateObject().ShouldNotBeEmpty();

            // Every token came from the endpoint as MSAL asks for it, for the deployment's identity, and the services took them.
            identity.Requests.ShouldNotBeEmpty();
            identity.Requests.ShouldAllBe(r => r.HeaderMatched && r.ApiVersion == AppServiceIdentityEndpoint.ApiVersion && r.ClientId == identity.ClientId);
            identity.Requests.Select(r => r.Resource!.TrimEnd('/')).Distinct().Order().ShouldBe(["https://storage.azure.com", "https://vault.azure.net"]);
            tunnel.Requested.ShouldAllBe(a => a == VaultHost + ":443");
            tunnel.Requested.ShouldNotBeEmpty("the vault was reached by its public name");
            vault.Store.List(0, 100, out _).ShouldContain(s => s.Name != "sealing-key", "the credential was written to the vault with the issued token");
        }
    }

    /// <summary>infra/package.sh, as a deployment runs it; returns the unzipped app folder.</summary>
    private static async Task<string> PackageAsync(string output)
    {
        var script = Process.Start(new ProcessStartInfo("bash", [Path.Combine(RepositoryRoot.Find(), "infra", "package.sh"), output])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var stderr = script.StandardError.ReadToEndAsync(timeout.Token);
        await script.StandardOutput.ReadToEndAsync(timeout.Token);
        await script.WaitForExitAsync(timeout.Token);
        script.ExitCode.ShouldBe(0, await stderr);
        return Path.Combine(output, "app");
    }

    /// <summary>
    /// A single-page app's link flow (as StartTicketTests runs it): a start ticket for the signed-in user, the pop-up's
    /// authorize and consent, the callback, the app's completion with its bearer token.
    /// </summary>
    private async Task<JsonElement> LinkAsync(Uri brokerUri, string bearer, long uid)
    {
        using var http = new HttpClient();
        using var start = new HttpRequestMessage(HttpMethod.Post, new Uri(brokerUri, $"api/oauth/bybit/start?returnUrl={Uri.EscapeDataString("http://localhost:5173/connected")}"));
        start.Headers.Authorization = new("Bearer", bearer);
        using var started = await http.SendAsync(start);
        var ticket = await started.Content.ReadAsStringAsync();
        started.StatusCode.ShouldBe(HttpStatusCode.OK, ticket);
        var authorizePath = JsonDocument.Parse(ticket).RootElement.GetProperty("authorizeUrl").GetString()!;

        using var browser = fixture.NewBrowser();
        browser.ForgetDevelopmentIdentity();
        using var authorize = await browser.GetRawAsync(new Uri(brokerUri, authorizePath));
        authorize.StatusCode.ShouldBe(HttpStatusCode.Found, await authorize.Content.ReadAsStringAsync());
        var callback = await browser.ConsentAsync(authorize.Headers.Location!, uid);
        // The provider redirects to the public URL's callback (the fixture's loopback address); this instance is the one
        // behind it, reached by the name the browser used for it (its cookies are that host's).
        using var landed = await browser.GetRawAsync(new UriBuilder(callback) { Host = brokerUri.Host, Port = brokerUri.Port }.Uri);
        landed.StatusCode.ShouldBe(HttpStatusCode.Found, await landed.Content.ReadAsStringAsync());
        var pending = browser.PendingReturn(landed).ShouldNotBeNull($"the callback ends pending: {landed.Headers.Location}");

        using var complete = new HttpRequestMessage(HttpMethod.Post, new Uri(brokerUri, "api/oauth/bybit/complete"))
        {
            Content = JsonContent.Create(new { completion = pending.Code }),
        };
        complete.Headers.Authorization = new("Bearer", bearer);
        await complete.Content.LoadIntoBufferAsync();
        using var completed = await browser.Http.SendAsync(complete);
        var answer = await completed.Content.ReadAsStringAsync();
        completed.StatusCode.ShouldBe(HttpStatusCode.OK, answer);
        return JsonDocument.Parse(answer).RootElement.Clone();
    }

    /// <summary>A self-signed certificate for the vault's public name and loopback, where the local vault and Azurite read it.</summary>
    private static void WriteCertificate(string directory)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + VaultHost, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(VaultHost);
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));
        File.WriteAllText(Path.Combine(directory, SelfSignedCertificate.CertificateFile), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, SelfSignedCertificate.KeyFile), key.ExportPkcs8PrivateKeyPem());
    }
}
