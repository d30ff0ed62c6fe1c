using System.Text.Json.Serialization;
using OAuthBroker.Credentials;
using OAuthBroker.Flows;
using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Links;
using OAuthBroker.Providers;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// Serialization code for the endpoints' answers, generated at compile time: a cold instance's first answer of each
/// kind does not build its JSON metadata by reflection (bench/startup.md), and the code survives trimming. Chained first
/// into the endpoints' <c>JsonOptions</c> (BrokerApp), before the reflection resolver, so the options there (snake-case
/// enums, nulls left out, web naming) apply as before and a type not listed here still serializes.
/// </summary>
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(AuthorizationStarted))]
[JsonSerializable(typeof(StartTicketIssued))]
[JsonSerializable(typeof(IOrderedEnumerable<ProviderDescriptor>))]
[JsonSerializable(typeof(IEnumerable<LinkView>))]
[JsonSerializable(typeof(UnlinkResult))]
[JsonSerializable(typeof(CompletedLink))]
[JsonSerializable(typeof(BackendCredential))]
[JsonSerializable(typeof(InvocationResponse))]
internal sealed partial class EndpointJsonContext : JsonSerializerContext;
