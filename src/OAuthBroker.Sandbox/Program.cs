using OAuthBroker.Sandbox;

// Standalone sandbox: `dotnet run --project src/OAuthBroker.Sandbox -- --urls http://127.0.0.1:7080`.
// Clients are configured under Sandbox:Bybit:Clients (see appsettings.json).
await SandboxApp.Create(args).RunAsync();
