using OAuthBroker.Tests.Security;

namespace OAuthBroker.Tests.FunctionsHost.UnderTheHost;

/// <summary>The same suite, every request through the emulated Functions host (see <see cref="HostedBrokerEnvironmentFixture"/>).</summary>
[Collection(HostedBrokerEnvironmentGroup.Name)]
public sealed class StartTicketTestsUnderFunctionsHost(HostedBrokerEnvironmentFixture fixture) : StartTicketTests(fixture);
