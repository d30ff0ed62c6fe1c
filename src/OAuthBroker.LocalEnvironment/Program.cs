using OAuthBroker.LocalEnvironment;

// The local run: `dotnet run --project src/OAuthBroker.LocalEnvironment [-- --BrokerPort=… --PublicHost=… --Providers:…]`.
// Starts Azurite, the local Key Vault endpoint, the provider sandbox and the broker, then waits for Ctrl+C.
var settings = LocalEnvironmentSettings.FromArguments(args);
Console.WriteLine("Starting Azurite, the local Key Vault endpoint, the provider sandbox and the broker…");
await using var environment = await BrokerEnvironment.StartAsync(settings);

Console.WriteLine($"""

    OAuth broker is running.

      Demo page (link a Bybit sandbox account): {new Uri(environment.BrokerUri, "demo/")}
      Broker API:                               {new Uri(environment.BrokerUri, "api/")}
      Provider sandbox:                         {environment.SandboxUri}
      Local Key Vault endpoint:                 {environment.KeyVault.VaultUri}
      Webhook receiver (link events):           {environment.EventsReceiver?.Url.AbsoluteUri ?? "off"}
      Azurite (tables):                         http://127.0.0.1:{environment.Azurite.Port}/devstoreaccount1
      Data kept in:                             {Path.Combine(RepositoryRoot.Find(), settings.DataDirectory!)}

    Press Ctrl+C to stop.
    """);

// Note: each app's console lifetime already handles Ctrl+C and SIGTERM by stopping itself (and swallowing the
// signal), so waiting for any of them to begin stopping is how this process learns it should shut everything down.
var stop = new TaskCompletionSource();
foreach (var app in new[] { environment.Broker, environment.Sandbox, environment.KeyVault.App })
{
    app.Lifetime.ApplicationStopping.Register(() => stop.TrySetResult());
}

await stop.Task;
Console.WriteLine("Stopping…");
