using OAuthBroker.Tests.EndToEnd;

namespace OAuthBroker.Tests.FunctionsHost.UnderTheHost;

/// <summary>
/// The backend suite through the emulated Functions host. The credential functions are <c>authLevel: function</c>, so
/// every request carries a valid function key: each assertion of the base suite (a wrong or missing backend key is 401, a
/// limited key is 403, a user's token is no credential, the audit names the backend) then shows that the key the host
/// checked adds nothing to what the app itself requires.
/// </summary>
[Collection(HostedBrokerEnvironmentGroup.Name)]
public sealed class CredentialEndpointTestsUnderFunctionsHost(HostedBrokerEnvironmentFixture fixture) : CredentialEndpointTests(fixture)
{
    protected override HttpRequestMessage Request(HttpMethod method, string provider, string accountId, string userId, string? key)
    {
        var request = base.Request(method, provider, accountId, userId, key);
        request.Headers.Add("x-functions-key", fixture.FunctionKey);
        return request;
    }
}
