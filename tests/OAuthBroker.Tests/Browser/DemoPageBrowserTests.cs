using Microsoft.Playwright;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Browser;

/// <summary>
/// The demo page in headless Debian Chromium (Playwright with the system browser, no download): choose a user,
/// connect a sandbox provider in the pop-up, see the link, unlink. `.ci/run` installs the chromium package.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class DemoPageBrowserTests(BrokerEnvironmentFixture fixture)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task A_person_links_and_unlinks_an_account_from_the_demo_page()
    {
        File.Exists(Chromium).ShouldBeTrue("install the Debian chromium package (apt-get install chromium); .ci/run does");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // The machine's network is closed: keep Chromium from reaching out on its own.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add(message.Text);
            }
        };

        await page.GotoAsync(new Uri(fixture.BrokerUri, "demo/").AbsoluteUri);
        await page.FillAsync("#user", "browser-user");
        await page.ClickAsync("#user-form button");
        (await page.TextContentAsync("#current-user")).ShouldBe("Signed in as browser-user.");

        var popup = await page.RunAndWaitForPopupAsync(() => page.ClickAsync("button[data-provider=bybit]"));
        await popup.WaitForLoadStateAsync();
        popup.Url.ShouldContain("/bybit/en/oauth");
        await popup.FillAsync("#account", "909090909");
        await popup.ClickAsync("#approve");

        await page.WaitForSelectorAsync("#links tr[data-account='909090909']", new PageWaitForSelectorOptions { Timeout = 20_000 });
        (await page.TextContentAsync("#status")).ShouldBe("Linked bybit.");
        (await page.TextContentAsync("#links tr[data-account='909090909']"))!.ShouldContain("active");

        await page.ClickAsync("#links tr[data-account='909090909'] button");
        await page.WaitForFunctionAsync("() => !document.querySelector(\"#links tr[data-account='909090909']\")", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        (await page.TextContentAsync("#status"))!.ShouldContain("revocation: not_supported_by_provider");
        consoleErrors.ShouldBeEmpty();
    }
}
