using OAuthBroker.LocalEnvironment;

// The local run: `dotnet run --project src/OAuthBroker.LocalEnvironment`.
// Starts Azurite, the local Key Vault endpoint, the provider sandbox and the broker, then waits for Ctrl+C.
var settings = new LocalEnvironmentSettings();
Console.WriteLine("Starting Azurite, the local Key Vault endpoint, the provider sandbox and the broker…");
await using var environment = await BrokerEnvironment.StartAsync(settings);

Console.WriteLine($"""

    OAuth broker is running.

      Demo page (link a Bybit sandbox account): {new Uri(environment.BrokerUri, "demo/")}
      Broker API:                               {new Uri(environment.BrokerUri, "api/")}
      Provider sandbox:                         {environment.SandboxUri}
      Local Key Vault endpoint:                 {environment.KeyVault.VaultUri}
      Azurite (tables):                         http://127.0.0.1:{environment.Azurite.Port}/devstoreaccount1
      Data kept in:                             {Path.Combine(RepositoryRoot.Find(), settings.DataDirectory!)}

    Press Ctrl+C to stop.
    """);

var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
await stop.Task;
Console.WriteLine("Stopping…");
