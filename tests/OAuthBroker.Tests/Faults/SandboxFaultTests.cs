using OAuthBroker.LocalEnvironment;
using OAuthBroker.Sandbox.Bybit;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Faults;

/// <summary>
/// The sandbox fails like real servers do: a request it has fully received is processed even when the client has
/// gone; only the answer is lost. A request held up before it arrives goes away with its client.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class SandboxFaultTests(BrokerEnvironmentFixture fixture)
{
    private const string RefreshPath = "/bybit/oauth/v1/public/refresh_token";

    [Theory]
    [InlineData(FaultPhase.AfterHandler, true)]
    [InlineData(FaultPhase.BeforeHandler, false)]
    public async Task A_client_that_gives_up_leaves_the_request_processed_only_if_the_server_had_it(FaultPhase phase, bool processed)
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 707070000 + (int)phase);
        var credential = await fixture.CredentialOfAsync(browser.User, "bybit", (707070000 + (int)phase).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var state = fixture.Sandbox<BybitSandboxState>();
        var grant = state.Grants[state.RefreshTokens[credential.RefreshToken!]];
        fixture.SandboxFaults.Add(new Fault(RefreshPath, 0, Delay: TimeSpan.FromSeconds(2)) { Phase = phase });
        try
        {
            using var impatient = new HttpClient { Timeout = TimeSpan.FromMilliseconds(500) };
            using var form = new FormUrlEncodedContent([new("client_id", new LocalEnvironmentSettings().BybitClientId), new("refresh_token", credential.RefreshToken!)]);
            await Should.ThrowAsync<TaskCanceledException>(() => impatient.PostAsync(new Uri(fixture.Environment.SandboxUri, RefreshPath.TrimStart('/')), form));
            await Task.Delay(TimeSpan.FromSeconds(3));
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        (grant.RefreshCount == 1).ShouldBe(processed);
        (grant.CurrentRefreshToken != credential.RefreshToken).ShouldBe(processed);
    }
}
