using OAuthBroker.Host;

// Standalone: `dotnet run` serves the /api routes itself. Under the Functions host: the same app, listening on
// FUNCTIONS_CUSTOMHANDLER_PORT (see FunctionsHost/).
await BrokerApp.Create(args).RunAsync();
