using System.Net;
using OAuthBroker.Links;
using OAuthBroker.Sandbox.Faults;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Vault;

/// <summary>
/// A provider that answers a revocation without revoking (RFC 7009 §2.2 counts only a 200 as success; BuiltByBit
/// documents <c>{"revoked":false}</c>) leaves a grant that may be live, and its token is the only way to end it: nothing
/// is erased, the link says why, and the user gets a problem response saying what to do.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class UnlinkRefusedTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task An_answer_that_does_not_revoke_erases_nothing_and_says_what_to_do()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid: 696969101, provider: "builtbybit");
        var link = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "builtbybit", "696969101", default))!;
        var before = await fixture.CredentialOfAsync(browser.User, "builtbybit", "696969101");
        fixture.SandboxFaults.Add(new Fault("/builtbybit/oauth2/token/revoke", 200, """{"revoked":false}""", "application/json", Times: 2));
        try
        {
            using var response = await browser.UnlinkAsync("builtbybit", "696969101");
            response.StatusCode.ShouldBe(HttpStatusCode.BadGateway);
            var problem = await response.Content.ReadAsStringAsync();
            problem.ShouldContain("revocation_refused");
            problem.ShouldContain("Nothing was erased");
        }
        finally
        {
            fixture.SandboxFaults.Clear();
        }

        var kept = (await fixture.Broker<IAccountLinkStore>().GetAsync(browser.User, "builtbybit", "696969101", default))!;
        kept.Status.ShouldBe(LinkStatus.Active);
        kept.LastFailure.ShouldBe("revocation_refused");
        kept.LeaseOwner.ShouldBeNull();
        (await fixture.CredentialOfAsync(browser.User, "builtbybit", "696969101")).RefreshToken.ShouldBe(before.RefreshToken, "the only token that can still revoke is kept");
        kept.CredentialName.ShouldBe(link.CredentialName);
    }
}
