using OAuthBroker.LocalKeyVault;

// Standalone: `dotnet run --project src/OAuthBroker.LocalKeyVault -- --LocalKeyVault:Port=7443`.
var settings = new LocalKeyVaultSettings();
new ConfigurationBuilder().AddCommandLine(args).AddEnvironmentVariables().Build().GetSection("LocalKeyVault").Bind(settings);
await using var vault = await LocalKeyVaultApp.StartAsync(settings);
Console.WriteLine($"Local Key Vault at {vault.VaultUri} (certificate: {vault.CertificatePath})");
await vault.App.WaitForShutdownAsync();
