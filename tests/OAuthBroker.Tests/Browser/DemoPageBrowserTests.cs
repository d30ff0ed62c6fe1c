using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Browser;

/// <summary>
/// The demo page in headless Debian Chromium (Playwright with the system browser, no download): connect a sandbox
/// provider in a pop-up, with a full-page redirect, and as a single-page app with a bearer token (start ticket and
/// completion step), on the broker's site and from another site; see the link, unlink; and the forced-linking attack
/// in a real browser, which links nothing. `.ci/run` installs the chromium package.
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class DemoPageBrowserTests(BrokerEnvironmentFixture fixture)
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly PageWaitForSelectorOptions Patient = new() { Timeout = 20_000 };

    private static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        File.Exists(Chromium).ShouldBeTrue("install the Debian chromium package (apt-get install chromium); .ci/run does");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // The machine's network is closed: keep Chromium from reaching out on its own.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return (playwright, browser);
    }

    private async Task<IPage> DemoAsync(IBrowser browser, List<string> consoleErrors)
    {
        var page = await browser.NewPageAsync();
        page.Console += (_, message) =>
        {
            // The provider's own pages (the sandbox's consent page in a full-page redirect) are not the demo's.
            if (message.Type == "error" && !message.Location.StartsWith(fixture.Environment.SandboxUri.AbsoluteUri, StringComparison.Ordinal))
            {
                consoleErrors.Add($"{message.Text} ({message.Location})");
            }
        };
        await page.GotoAsync(new Uri(fixture.BrokerUri, "demo/").AbsoluteUri);
        return page;
    }

    private static async Task SignInAsync(IPage page, string user)
    {
        await page.FillAsync("#user", user);
        await page.ClickAsync("#user-form button");
        (await page.TextContentAsync("#current-user")).ShouldBe($"Signed in as {user}.");
    }

    private static async Task ApproveAsync(IPage page, string account)
    {
        await page.WaitForSelectorAsync("#approve", Patient);
        page.Url.ShouldContain("/bybit/en/oauth");
        await page.FillAsync("#account", account);
        await page.ClickAsync("#approve");
    }

    [Fact]
    public async Task A_person_links_in_a_pop_up_and_unlinks_from_the_demo_page()
    {
        var (playwright, browser) = await LaunchAsync();
        using (playwright)
        await using (browser)
        {
            var errors = new List<string>();
            var page = await DemoAsync(browser, errors);
            await SignInAsync(page, "browser-user");

            var popup = await page.RunAndWaitForPopupAsync(() => page.ClickAsync("button[data-provider=bybit]"));
            await ApproveAsync(popup, "909090909");

            await page.WaitForSelectorAsync("#links tr[data-account='909090909']", Patient);
            (await page.TextContentAsync("#status")).ShouldBe("Linked bybit.");
            (await page.TextContentAsync("#links tr[data-account='909090909']"))!.ShouldContain("active");

            await page.ClickAsync("#links tr[data-account='909090909'] button");
            await page.WaitForFunctionAsync("() => !document.querySelector(\"#links tr[data-account='909090909']\")", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
            (await page.TextContentAsync("#status"))!.ShouldContain("revocation: not_supported_by_provider");
            errors.ShouldBeEmpty();
        }
    }

    [Fact]
    public async Task A_full_page_redirect_completes_on_the_return_page_and_leaves_no_code_in_the_address_bar()
    {
        var (playwright, browser) = await LaunchAsync();
        using (playwright)
        await using (browser)
        {
            var errors = new List<string>();
            var page = await DemoAsync(browser, errors);
            await SignInAsync(page, "full-page-user");
            await page.CheckAsync("#full-page");

            await page.ClickAsync("button[data-provider=bybit]");
            await ApproveAsync(page, "808080808");

            await page.WaitForSelectorAsync("text=Connected bybit.", Patient);
            page.Url.ShouldBe(new Uri(fixture.BrokerUri, "demo/callback.html?oauth_provider=bybit&oauth_result=linked").AbsoluteUri,
                "the completion code left the address bar and history (RFC 9700 §4.3)");
            (await page.EvaluateAsync<int>("() => history.length")).ShouldBeGreaterThan(1);

            await page.GotoAsync(new Uri(fixture.BrokerUri, "demo/").AbsoluteUri);
            await page.WaitForSelectorAsync("#links tr[data-account='808080808']", Patient);
            errors.ShouldBeEmpty();
        }
    }

    [Fact]
    public async Task A_single_page_app_with_a_bearer_token_links_through_a_start_ticket_and_the_completion_step()
    {
        var token = await SandboxIdentity.SignInAsync(fixture, "spa-browser-user");
        var (playwright, browser) = await LaunchAsync();
        using (playwright)
        await using (browser)
        {
            var errors = new List<string>();
            var page = await DemoAsync(browser, errors);
            await page.FillAsync("#token", token);
            await page.ClickAsync("#token-form button");
            (await page.TextContentAsync("#current-user")).ShouldBe("Signed in with a bearer token.");

            var popup = await page.RunAndWaitForPopupAsync(() => page.ClickAsync("button[data-provider=bybit]"));
            await ApproveAsync(popup, "707070707");

            await page.WaitForSelectorAsync("#links tr[data-account='707070707']", Patient);
            (await page.TextContentAsync("#status")).ShouldBe("Linked bybit.");
            errors.ShouldBeEmpty();
        }

        // The link is the token's user's.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/links"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ShouldContain(l => l.GetProperty("accountId").GetString() == "707070707");
    }

    [Fact]
    public async Task A_single_page_app_on_another_site_links_with_its_completion_verifier()
    {
        // The frontend is http://localhost:5173, an allowed return origin; the broker is http://127.0.0.1:port, another
        // site, so Chromium sends none of the broker's SameSite=Lax cookies with the app's fetches. Nothing listens on
        // 5173: Playwright answers for it with the demo's own files, as the frontend's static host would.
        const string frontend = "http://localhost:5173";
        var token = await SandboxIdentity.SignInAsync(fixture, "cross-site-browser-user");
        var (playwright, browser) = await LaunchAsync();
        using (playwright)
        await using (browser)
        {
            var context = await browser.NewContextAsync();
            // Chromium's Local Network Access: a page Playwright answers for has no address, so counts as public, and a public
            // page needs the user's permission to reach loopback (here, the broker). A real frontend on a public site talks
            // to a public broker and needs none; the permission stands in for the loopback-only test network.
            await context.GrantPermissionsAsync(["local-network-access"], new() { Origin = frontend });
            var refererSeen = new List<string?>();
            await context.RouteAsync(frontend + "/**", async route =>
            {
                var path = new Uri(route.Request.Url).AbsolutePath;
                if (!path.StartsWith("/demo/", StringComparison.Ordinal))
                {
                    await route.FulfillAsync(new() { Status = 404 });
                    return;
                }

                var files = await route.FetchAsync(new() { Url = new Uri(fixture.BrokerUri, path).AbsoluteUri });
                await route.FulfillAsync(new() { Response = files });
            });
            context.Request += async (_, request) =>
            {
                if (request.Url.Contains("/authorize?ticket=", StringComparison.Ordinal))
                {
                    refererSeen.Add(await request.HeaderValueAsync("referer"));
                }
            };

            var errors = new List<string>();
            var page = await context.NewPageAsync();
            page.Console += (_, message) =>
            {
                if (message.Type == "error" && !message.Location.StartsWith(fixture.Environment.SandboxUri.AbsoluteUri, StringComparison.Ordinal))
                {
                    errors.Add($"{message.Text} ({message.Location})");
                }
            };
            await page.GotoAsync($"{frontend}/demo/?broker={Uri.EscapeDataString(fixture.BrokerUri.GetLeftPart(UriPartial.Authority))}");
            await page.FillAsync("#token", token);
            await page.ClickAsync("#token-form button");
            (await page.TextContentAsync("#current-user")).ShouldBe("Signed in with a bearer token.");
            await page.WaitForSelectorAsync("button[data-provider=bybit]", Patient);
            var popup = await page.RunAndWaitForPopupAsync(() => page.ClickAsync("button[data-provider=bybit]"));
            await ApproveAsync(popup, "505050505");

            await page.WaitForSelectorAsync("#links tr[data-account='505050505']", Patient);
            (await page.TextContentAsync("#status")).ShouldBe("Linked bybit.");
            refererSeen.ShouldBe([frontend + "/"], "the pop-up's authorize request names the frontend's origin, nothing more");
            (await context.CookiesAsync([frontend])).ShouldNotContain(c => c.Name.StartsWith("oauth-", StringComparison.Ordinal), "the broker's cookies are not the frontend's");
            errors.ShouldBeEmpty();
        }
    }

    [Fact]
    public async Task An_attackers_start_ticket_opened_in_a_victims_browser_links_nothing()
    {
        // The attacker mints a ticket with their own token; its return page is the broker's own (allowed) callback page.
        var attackerToken = await SandboxIdentity.SignInAsync(fixture, "browser-attacker");
        using var http = new HttpClient();
        using var start = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.BrokerUri, $"api/oauth/bybit/start?returnUrl={Uri.EscapeDataString("/demo/callback.html")}"));
        start.Headers.Authorization = new("Bearer", attackerToken);
        using var ticket = await http.SendAsync(start);
        var body = await ticket.Content.ReadFromJsonAsync<JsonElement>();
        fixture.SeenSecrets.Add(body.GetProperty("ticket").GetString());

        var (playwright, browser) = await LaunchAsync();
        using (playwright)
        await using (browser)
        {
            // The victim, signed in to the platform in this browser, follows the attacker's link and approves.
            var errors = new List<string>();
            var page = await DemoAsync(browser, errors);
            await SignInAsync(page, "browser-victim");
            await page.GotoAsync(new Uri(fixture.BrokerUri, body.GetProperty("authorizeUrl").GetString()!).AbsoluteUri);
            await ApproveAsync(page, "606060606");

            await page.WaitForSelectorAsync("text=Not connected (completion_refused).", Patient);
            page.Url.ShouldNotContain("oauth_completion");
        }

        using var links = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.BrokerUri, "api/links"));
        links.Headers.Authorization = new("Bearer", attackerToken);
        using var attackers = await http.SendAsync(links);
        (await attackers.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength().ShouldBe(0, "the victim's account is not the attacker's");
        using var victim = fixture.NewBrowser("browser-victim");
        (await victim.LinksAsync()).ShouldNotContain(l => l.AccountId == "606060606");
    }
}
