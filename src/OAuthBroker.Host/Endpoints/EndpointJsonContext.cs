using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using OAuthBroker.Credentials;
using OAuthBroker.Flows;
using OAuthBroker.Host.FunctionsHost;
using OAuthBroker.Links;
using OAuthBroker.Providers;
using OAuthBroker.Scheduling;

namespace OAuthBroker.Host.Endpoints;

/// <summary>
/// Serialization code for the endpoints' answers and bodies, generated at compile time: a cold instance's first answer
/// of each kind does not build its JSON metadata by reflection (bench/startup.md), and the code survives trimming. It is
/// the only resolver in the endpoints' <c>JsonOptions</c> (BrokerApp), whose options (snake-case enums, nulls left out,
/// web naming) apply to it as before. With no reflection resolver behind it, a type missing here fails in every build
/// and test, not only in the trimmed package: every type an endpoint answers with or reads, the problem details of
/// every error answer, and every type the OpenAPI document describes (RouteContracts) is listed. Event listings and
/// webhook bodies are written by hand (<c>LinkEventJson</c>) and need none.
/// </summary>
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(AuthorizationStarted))]
[JsonSerializable(typeof(StartTicketIssued))]
[JsonSerializable(typeof(IOrderedEnumerable<ProviderDescriptor>))]
[JsonSerializable(typeof(ProviderDescriptor[]))]
[JsonSerializable(typeof(IEnumerable<LinkView>))]
[JsonSerializable(typeof(LinkView[]))]
[JsonSerializable(typeof(UnlinkResult))]
[JsonSerializable(typeof(CompletedLink))]
[JsonSerializable(typeof(BackendCredential))]
[JsonSerializable(typeof(InvocationResponse))]
// InvocationResponse.ReturnValue is an object: the scheduled run's report is written as its runtime type.
[JsonSerializable(typeof(ScheduledRunReport))]
// The completion step's body (OAuthEndpoints), read as a document.
[JsonSerializable(typeof(JsonElement))]
// Every error answer (Problems, the exception handler, status code pages): RFC 9457 problem details, whose extension
// members (code, traceId) are objects written as their runtime types.
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
internal sealed partial class EndpointJsonContext : JsonSerializerContext;
