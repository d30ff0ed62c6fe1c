using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Logging;

/// <summary>
/// No token, code, state, API secret, client secret or vault token in any log line. Every line every in-process
/// app wrote (all levels, structured values, exception text) is searched for every secret the sandbox issued and
/// every state and code the tests saw. The fixture repeats the search over the whole run when it shuts down.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class LogHygieneTests(BrokerEnvironmentFixture fixture)
{
    [Fact]
    public async Task No_log_line_contains_a_secret_after_successful_and_failed_flows()
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync();
        var callback = await browser.ConsentAsync(await browser.StartAsync());
        using (await browser.GetAsync(callback))
        {
        }

        using (await browser.GetAsync(callback))
        {
            // The replay: refused, and logged as refused.
        }

        var lines = fixture.Logs.Lines;
        lines.ShouldContain(line => line.Contains("Authorization flow started", StringComparison.Ordinal), "the capture must see the broker's own logs");
        lines.ShouldContain(line => line.Contains("refused", StringComparison.Ordinal), "the capture must see the refusal");
        fixture.SandboxIssued.All.Count.ShouldBeGreaterThan(3);
        LogAssertions.ContainNone(lines, fixture.SeenSecrets.All.Concat(fixture.SandboxIssued.All));
    }

    [Fact]
    public void The_search_finds_a_secret_and_does_not_print_it()
    {
        const string secret = "s3cr3t-value-that-leaked";
        var failure = Should.Throw<ShouldAssertException>(() => LogAssertions.ContainNone(["Information Some.Category: token=" + secret], [secret]));
        failure.Message.ShouldNotContain(secret);
        failure.Message.ShouldContain("<SECRET>");
    }
}
